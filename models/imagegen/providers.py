"""Replicate and fal.ai FLUX endpoints over httpx. One AsyncClient per provider (connections reused)."""
import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from models.imagegen.config import ImageGenSettings
from models.imagegen.errors import ImageTimeout, NoKey, ProviderError, SafetyFilter
from models.imagegen.http import download_image, json_of, request

REPLICATE_MODELS = {"schnell": "black-forest-labs/flux-schnell", "dev": "black-forest-labs/flux-dev"}
FAL_MODELS = {"schnell": "fal-ai/flux/schnell", "dev": "fal-ai/flux/dev"}
SAFETY_WORDS = ("nsfw", "safety", "sensitive")


@dataclass
class GeneratedImage:
    provider: str
    model: str
    seed: int
    prompt: str
    url: str
    data: bytes
    seconds: float


class Provider:
    name = ""
    models: dict[str, str] = {}

    def __init__(self, settings: ImageGenSettings):
        self.settings = settings
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            s = self.settings
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(s.imagegen_read_timeout_s, connect=s.imagegen_connect_timeout_s),
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10), follow_redirects=True)
        return self._client

    def model_id(self, model: str) -> str:
        return self.models.get(model, model)

    async def generate(self, prompt: str, *, seed: int, model: str | None = None) -> GeneratedImage:
        """One image; the whole call (create, wait or poll, download) is capped by IMAGEGEN_TOTAL_TIMEOUT_S."""
        model = model or self.settings.imagegen_model
        started = time.perf_counter()
        async def create_and_download() -> tuple[str, bytes]:
            url = await self._create(prompt, seed, self.model_id(model))
            return url, await download_image(self.client, self.name, url,
                                             max_bytes=self.settings.imagegen_max_image_bytes,
                                             retries=self.settings.imagegen_retries)

        try:
            url, data = await asyncio.wait_for(create_and_download(), self.settings.imagegen_total_timeout_s)
        except TimeoutError:
            raise ImageTimeout(f"{self.name}: no image within {self.settings.imagegen_total_timeout_s:g} s") from None
        return GeneratedImage(self.name, self.model_id(model), seed, prompt, url, data,
                              time.perf_counter() - started)

    async def _create(self, prompt: str, seed: int, model_id: str) -> str:
        raise NotImplementedError

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class Replicate(Provider):
    name = "replicate"
    models = REPLICATE_MODELS

    def _headers(self) -> dict[str, str]:
        if self.settings.replicate_api_token is None:
            raise NoKey(self.name, "REPLICATE_API_TOKEN")
        return {"Authorization": f"Bearer {self.settings.replicate_api_token.get_secret_value()}",
                "Prefer": "wait=60"}  # synchronous mode: the answer comes with the output when it is quick

    async def _create(self, prompt: str, seed: int, model_id: str) -> str:
        headers = self._headers()
        base = self.settings.replicate_api_base.rstrip("/")
        # go_fast makes seeds non-deterministic; paired tests need the same seed to mean the same noise.
        body = {"input": {"prompt": prompt, "seed": seed, "go_fast": False, "num_outputs": 1,
                          "output_format": "png", "disable_safety_checker": False}}
        response = await request(self.client, self.name, "POST", f"{base}/models/{model_id}/predictions",
                                 creates=True, retries=self.settings.imagegen_retries, json=body, headers=headers)
        prediction = json_of(response, self.name)
        while True:
            status = prediction.get("status")
            if status == "succeeded":
                output = prediction.get("output")
                url = output[0] if isinstance(output, list) and output else output
                if not isinstance(url, str):
                    raise ProviderError(self.name, "succeeded without an output URL")
                return url
            if status in ("failed", "canceled", "aborted"):
                error = str(prediction.get("error") or status)
                if any(word in error.lower() for word in SAFETY_WORDS):
                    raise SafetyFilter(f"{self.name}: {error[:200]}")
                raise ProviderError(self.name, error)
            poll = (prediction.get("urls") or {}).get("get")
            if not poll:
                raise ProviderError(self.name, f"prediction in state {status!r} without a polling URL")
            await asyncio.sleep(self.settings.imagegen_poll_interval_s)
            response = await request(self.client, self.name, "GET", poll, retries=self.settings.imagegen_retries,
                                     headers={"Authorization": headers["Authorization"]})
            prediction = json_of(response, self.name)


class Fal(Provider):
    name = "fal"
    models = FAL_MODELS

    def __init__(self, settings: ImageGenSettings, *, queue: bool = True):
        super().__init__(settings)
        self.queue = queue

    def _headers(self) -> dict[str, str]:
        if self.settings.fal_key is None:
            raise NoKey(self.name, "FAL_KEY")
        return {"Authorization": f"Key {self.settings.fal_key.get_secret_value()}"}  # fal: "Key", not "Bearer"

    async def _create(self, prompt: str, seed: int, model_id: str) -> str:
        headers = self._headers()
        body = {"prompt": prompt, "seed": seed, "num_images": 1, "enable_safety_checker": True,
                "output_format": "png"}
        retries = self.settings.imagegen_retries
        if not self.queue:
            response = await request(self.client, self.name, "POST",
                                     f"{self.settings.fal_api_base.rstrip('/')}/{model_id}", creates=True,
                                     retries=retries, json=body, headers=headers)
            return self._image_url(json_of(response, self.name))
        response = await request(self.client, self.name, "POST",
                                 f"{self.settings.fal_queue_base.rstrip('/')}/{model_id}", creates=True,
                                 retries=retries, json=body, headers=headers)
        queued = json_of(response, self.name)
        status_url, response_url = queued.get("status_url"), queued.get("response_url")
        if not status_url or not response_url:
            raise ProviderError(self.name, "the queue did not return status_url/response_url")
        while True:
            status = json_of(await request(self.client, self.name, "GET", status_url, retries=retries,
                                           headers=headers), self.name)
            state = status.get("status")
            if state == "COMPLETED":
                if status.get("error"):
                    raise ProviderError(self.name, str(status["error"]))
                break
            if state not in ("IN_QUEUE", "IN_PROGRESS"):
                raise ProviderError(self.name, f"unexpected queue status {state!r}")
            await asyncio.sleep(self.settings.imagegen_poll_interval_s)
        result = json_of(await request(self.client, self.name, "GET", response_url, retries=retries,
                                       headers=headers), self.name)
        return self._image_url(result)

    def _image_url(self, result: dict[str, Any]) -> str:
        if any(result.get("has_nsfw_concepts") or []):
            raise SafetyFilter(f"{self.name}: the image was blocked by the safety checker")
        images = result.get("images") or []
        if not images or not isinstance(images[0], dict) or not images[0].get("url"):
            raise ProviderError(self.name, "the result has no image URL")
        return str(images[0]["url"])


class Providers:
    """The configured providers, created once and shared (one HTTP client each)."""

    def __init__(self, settings: ImageGenSettings):
        self.settings = settings
        self._providers = {"replicate": Replicate(self.settings), "fal": Fal(self.settings)}

    def configured(self) -> list[str]:
        keys = {"replicate": self.settings.replicate_api_token, "fal": self.settings.fal_key}
        return [name for name, key in keys.items() if key is not None]

    def get(self, name: str | None = None) -> Provider:
        name = name or self.settings.imagegen_provider
        if name == "auto":
            configured = self.configured()
            if not configured:
                raise NoKey("replicate/fal", "REPLICATE_API_TOKEN or FAL_KEY")
            name = configured[0]
        if name not in self._providers:
            raise ProviderError(name, "unknown provider (replicate or fal)")
        return self._providers[name]

    async def close(self) -> None:
        for provider in self._providers.values():
            await provider.close()
