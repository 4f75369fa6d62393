"""HTTP with retries for the providers: jittered exponential backoff on 429 (Retry-After honoured), 5xx and
network errors; errors never contain the API key."""
import asyncio
import io
import random
from typing import Any

import httpx
from PIL import Image

from models.imagegen.errors import BadImage, ImageTimeout, ProviderError
from models.remote import retry_after_seconds

RETRY = {429, 500, 502, 503, 504}


async def request(client: httpx.AsyncClient, provider: str, method: str, url: str, *, retries: int,
                  creates: bool = False, **kwargs: Any) -> httpx.Response:
    """`creates=True` for a request that starts paid work (a prediction): it is retried only when it surely did
    not start a job (429, 502, 503, or no connection), never after a timeout, a 500 or a 504, which may have
    started one we would pay for twice. Polls and downloads retry on every transient failure."""
    last = ""
    for attempt in range(retries + 1):
        retry = True
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            last, wait, retry = "timed out", None, not creates
        except httpx.ConnectError as error:
            last, wait = f"network error ({type(error).__name__})", None
        except httpx.TransportError as error:
            last, wait, retry = f"network error ({type(error).__name__})", None, not creates
        else:
            if response.status_code not in RETRY:
                return response
            last, wait = f"HTTP {response.status_code}", retry_after_seconds(response)
            # 502/503: a gateway or an overloaded service turned the request away before any job started.
            retry = response.status_code in (429, 502, 503) or not creates
        if attempt == retries or not retry:
            break
        await asyncio.sleep(wait if wait is not None else min(10.0, 0.5 * 2**attempt) * (0.5 + random.random()))
    if last == "timed out":
        raise ImageTimeout(f"{provider}: timed out")
    raise ProviderError(provider, f"{last} after {attempt + 1} attempt{'s' if attempt else ''}")


def json_of(response: httpx.Response, provider: str) -> dict[str, Any]:
    if response.status_code >= 400:
        try:
            data = response.json()
            detail = data.get("detail") or data.get("error") or data.get("message") or data
        except ValueError:
            detail = response.text
        raise ProviderError(provider, str(detail), response.status_code)
    try:
        data = response.json()
    except ValueError:
        raise ProviderError(provider, "the provider answered with invalid JSON", response.status_code) from None
    if not isinstance(data, dict):
        raise ProviderError(provider, "unexpected response shape", response.status_code)
    return data


async def download_image(client: httpx.AsyncClient, provider: str, url: str, *, max_bytes: int,
                         retries: int) -> bytes:
    """Fetch with a size cap (streamed: a huge file is cut off, not read), then check it really is an image."""
    for attempt in range(retries + 1):
        try:
            async with client.stream("GET", url) as response:
                if response.status_code in RETRY and attempt < retries:
                    await asyncio.sleep(retry_after_seconds(response) or 0.5 * 2**attempt)
                    continue
                if response.status_code >= 400:
                    raise ProviderError(provider, "the image could not be downloaded", response.status_code)
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise BadImage(f"{provider}: image larger than {max_bytes} bytes")
                    chunks.append(chunk)
                data = b"".join(chunks)
                break
        except httpx.TimeoutException:
            if attempt == retries:
                raise ImageTimeout(f"{provider}: image download timed out") from None
        except httpx.TransportError as error:
            if attempt == retries:
                raise ProviderError(provider, f"the image could not be downloaded ({type(error).__name__})") from None
            await asyncio.sleep(0.5 * 2**attempt)
    else:
        raise ProviderError(provider, "the image could not be downloaded")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception:  # noqa: BLE001 - Pillow raises many types for bad data
        raise BadImage(f"{provider}: the downloaded file is not a valid image") from None
    return data
