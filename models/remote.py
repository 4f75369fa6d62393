"""The text-engine interface over an OpenAI-compatible HTTP API (vLLM, llama.cpp server, Ollama):
how a deployment moves inference to separate GPU machines. Uses /v1/completions, so base and chat prompt styles
both work (chat prompts are rendered as plain instruction text: the remote side has no tokenizer here);
`chat()` uses /v1/chat/completions, where the endpoint applies the model's template (digest summaries)."""
import asyncio
import datetime
import email.utils
import logging
import random
import time
from typing import Any

import httpx

from models.config import RemoteModel
from models.engine import DEFAULT_INSTRUCTION, cut_at_stop
from models.errors import BadRequest, ModelUnavailable, RemoteError, RequestTimeout, RequestTooLarge
from models.registry import ModelSpec

log = logging.getLogger(__name__)
RETRY_STATUSES = {429, 500, 502, 503, 504}


MAX_RETRY_AFTER_S = 120.0  # a server asking for longer gets the caller's error instead of a stalled request


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), capped; None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return min(MAX_RETRY_AFTER_S, max(0.0, parsed.timestamp() - time.time()))


class RemoteEndpoint:
    """One OpenAI-compatible endpoint: the HTTP client with its key, and POST with the retry rules above. The text
    and embedding backends (models/remote_embeddings.py) share it."""

    def __init__(self, spec: ModelSpec, remote: RemoteModel):
        self.spec, self.remote = spec, remote
        headers = {}
        if remote.api_key is not None:  # resolved from `api_key_env` with the settings (models/config.py)
            headers["Authorization"] = f"Bearer {remote.api_key.get_secret_value()}"
        elif remote.api_key_env:
            raise ModelUnavailable(spec.name, f"set {remote.api_key_env} to the endpoint's API key")
        self.client = httpx.AsyncClient(base_url=remote.base_url.rstrip("/"), headers=headers,
                                        timeout=httpx.Timeout(remote.timeout_s, connect=10.0),
                                        limits=httpx.Limits(max_connections=32))
        self.requests = self.errors = 0  # HTTP attempts and failed ones, exported by bot/metrics.py

    @property
    def name(self) -> str:
        return self.spec.name

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "device": "remote", "endpoint": self.remote.base_url, "model": self.remote.model}

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The response's JSON object; 429 and 5xx retried with jittered backoff honouring Retry-After, anything
        else a RemoteError at once."""
        last_error = "no attempt"
        for attempt in range(self.remote.retries + 1):
            self.requests += 1
            wait: float | None = None
            try:
                response = await self.client.post(path, json=body)
            except httpx.TimeoutException:
                last_error = "timed out"
            except httpx.TransportError as error:
                last_error = f"connection failed ({type(error).__name__})"
            else:
                status = response.status_code
                if status < 300:
                    try:
                        data = response.json()
                    except ValueError:
                        self.errors += 1
                        raise RemoteError(f"{self.name}: the endpoint returned invalid JSON", status) from None
                    if not isinstance(data, dict):
                        self.errors += 1
                        raise RemoteError(f"{self.name}: malformed response (not an object)", status)
                    return data
                if status not in RETRY_STATUSES:
                    self.errors += 1
                    raise RemoteError(f"{self.name}: HTTP {status}: {_error_text(response)}", status)
                last_error, wait = f"HTTP {status}: {_error_text(response)}", retry_after_seconds(response)
            self.errors += 1
            if attempt == self.remote.retries:
                break
            delay = wait if wait is not None else min(8.0, 0.5 * 2**attempt) * (0.5 + random.random())
            log.warning("%s: %s; retrying in %.1f s", self.name, last_error, delay)
            await asyncio.sleep(delay)
        raise RemoteError(f"{self.name}: {last_error} after {self.remote.retries + 1} attempts")

    async def close(self, drain: bool = True) -> None:
        await self.client.aclose()


class RemoteTextEngine(RemoteEndpoint):
    def __init__(self, spec: ModelSpec, remote: RemoteModel, *, max_n: int = 16, max_new_tokens: int = 128):
        super().__init__(spec, remote)
        self.max_n, self.max_new_tokens = max_n, max_new_tokens

    async def ready(self) -> "RemoteTextEngine":
        return self

    def tokenize(self, text: str) -> list[str]:
        raise ModelUnavailable(self.name, "a remote model's tokenizer is not available here")

    def format_prompt(self, text: str, instruction: str | None = None) -> str:
        if self.spec.prompt_style != "chat":
            return text
        return f"{instruction or DEFAULT_INSTRUCTION}\n\n{text}"

    async def generate(self, prompts: list[str], *, n: int = 1, temperature: float = 0.0, top_p: float = 1.0,
                       max_new_tokens: int = 32, stop: list[str] | None = None, seed: int | None = None,
                       timeout: float | None = None) -> list[list[str]]:
        if not prompts or any(not p or not p.strip() for p in prompts):
            raise BadRequest("empty prompt")
        if not 1 <= n <= self.max_n:
            raise RequestTooLarge("n", n, self.max_n)
        if not 1 <= max_new_tokens <= self.max_new_tokens:
            raise RequestTooLarge("max_new_tokens", max_new_tokens, self.max_new_tokens)
        body = {"model": self.remote.model, "prompt": prompts, "n": n, "temperature": temperature, "top_p": top_p,
                "max_tokens": max_new_tokens}
        if stop:
            body["stop"] = stop[:4]  # the OpenAI API takes at most four
        if seed is not None:
            body["seed"] = seed
        try:
            data = await asyncio.wait_for(self._post("/completions", body), timeout)
        except TimeoutError:
            raise RequestTimeout(timeout or 0.0) from None
        try:
            choices = sorted(data["choices"], key=lambda choice: choice.get("index", 0))
            texts = [choice["text"] for choice in choices]
        except (KeyError, TypeError) as error:
            raise RemoteError(f"{self.name}: malformed response ({error})") from None
        if len(texts) != len(prompts) * n:
            raise RemoteError(f"{self.name}: expected {len(prompts) * n} choices, got {len(texts)}")
        texts = [cut_at_stop(text, tuple(stop or ()))[0] for text in texts]
        return [texts[i * n:(i + 1) * n] for i in range(len(prompts))]

    async def chat(self, messages: list[dict[str, str]], *, temperature: float = 0.0, max_new_tokens: int = 32,
                   timeout: float | None = None) -> str:
        """One reply from `/chat/completions`: hosted instruct models often serve only this route, and the
        endpoint applies the model's own chat template (digest summaries use it for `prompt_style: chat`)."""
        if not messages or any(not str(m.get("content", "")).strip() for m in messages):
            raise BadRequest("empty message")
        if not 1 <= max_new_tokens <= self.max_new_tokens:
            raise RequestTooLarge("max_new_tokens", max_new_tokens, self.max_new_tokens)
        body = {"model": self.remote.model, "messages": messages, "temperature": temperature,
                "max_tokens": max_new_tokens, "n": 1}
        try:
            data = await asyncio.wait_for(self._post("/chat/completions", body), timeout)
        except TimeoutError:
            raise RequestTimeout(timeout or 0.0) from None
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as error:
            raise RemoteError(f"{self.name}: malformed response ({error})") from None
        if not isinstance(content, str):
            raise RemoteError(f"{self.name}: malformed response (content is not text)")
        return content


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
        message = data.get("error", {}).get("message") if isinstance(data.get("error"), dict) else data.get("error")
        return str(message or data)[:200]
    except ValueError:
        return response.text[:200]
