"""One engine per model, created on first use and shared by every caller in the process."""
import asyncio
from typing import TYPE_CHECKING, cast

from models.config import ModelSettings
from models.embeddings import EmbeddingEngine
from models.engine import LocalTextEngine
from models.protocols import Embedder, TextEngine
from models.registry import best_embedder, grouping_embedder, resolve, text_model_names

if TYPE_CHECKING:
    from models.remote_embeddings import RemoteEmbeddingEngine


class ModelHub:
    def __init__(self, settings: ModelSettings | None = None):
        self.settings = settings or ModelSettings()
        self._engines: dict[str, TextEngine | Embedder] = {}

    def text(self, name: str | None = None) -> TextEngine:
        """The text engine for `name` (default: DEFAULT_TEXT_MODEL); raises UnknownModel / ModelUnavailable."""
        name = name or self.settings.default_text_model
        if name not in self._engines:
            spec = resolve(name, self.settings, kind="causal-lm")
            if spec.backend == "remote":
                from models.remote import RemoteTextEngine

                self._engines[name] = RemoteTextEngine(spec, self.settings.remote_models[name],
                                                       max_n=self.settings.engine_max_n,
                                                       max_new_tokens=self.settings.engine_max_new_tokens)
            else:
                spec.locate()  # fail now, with the install hint, rather than inside the worker
                self._engines[name] = LocalTextEngine(spec, self.settings)
        return cast(TextEngine, self._engines[name])  # a name resolves to one kind only

    def embedder(self, name: str | None = None) -> "EmbeddingEngine | RemoteEmbeddingEngine":
        """The embedding engine for `name` (default: DEFAULT_EMBEDDER): local, or a remote `/v1/embeddings`
        endpoint for a REMOTE_MODELS entry of kind "embedder"; both have `await embed(texts)`."""
        name = name or self.settings.default_embedder
        if name not in self._engines:
            spec = resolve(name, self.settings, kind="embedder")
            if spec.backend == "remote":
                from models.remote_embeddings import RemoteEmbeddingEngine

                self._engines[name] = RemoteEmbeddingEngine(
                    spec, self.settings.remote_models[name],
                    request_timeout_s=self.settings.engine_request_timeout_s)
            else:
                spec.locate()
                self._engines[name] = EmbeddingEngine(spec, self.settings)
        return cast("EmbeddingEngine | RemoteEmbeddingEngine", self._engines[name])

    def embedder_for(self, language: str) -> "EmbeddingEngine | RemoteEmbeddingEngine":
        """The embedder measured best for similarity within `language` (models.registry.best_embedder), unless the
        operator named one with DEFAULT_EMBEDDER: that one then serves every language."""
        if "default_embedder" in self.settings.model_fields_set:
            return self.embedder()
        return self.embedder(best_embedder(language))

    def grouping_embedder(self) -> "tuple[EmbeddingEngine | RemoteEmbeddingEngine, float]":
        """The embedder for matching posts across languages, with its calibrated same-paper threshold. An operator's
        DEFAULT_EMBEDDER is used instead; unmeasured, it gets the old MiniLM-scale 0.7 unless
        DIGEST_SIMILARITY_THRESHOLD gives its own scale's threshold."""
        name, threshold = grouping_embedder()
        if "default_embedder" in self.settings.model_fields_set and self.settings.default_embedder != name:
            return self.embedder(), 0.7
        return self.embedder(name), threshold

    def text_models(self) -> list[str]:
        return text_model_names(self.settings)

    def loaded(self) -> dict[str, TextEngine | Embedder]:
        return dict(self._engines)

    async def close(self, drain: bool = False) -> None:
        engines, self._engines = list(self._engines.values()), {}
        await asyncio.gather(*(engine.close(drain=drain) for engine in engines), return_exceptions=True)
