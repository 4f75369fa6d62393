"""Sentence embeddings, batched across callers like text generation (same queue, same worker thread model)."""
import numpy as np

from models.batching import BatchQueue, Row
from models.config import ModelSettings
from models.errors import BadRequest
from models.loading import load_embedder
from models.registry import ModelSpec


class EmbeddingEngine:
    def __init__(self, spec: ModelSpec, settings: ModelSettings):
        self.spec, self.settings = spec, settings
        self.model = None
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

    def _load(self) -> None:
        self.model = load_embedder(self.spec, self.settings)

    def _run_batch(self, rows: list[Row]) -> list[np.ndarray]:
        vectors = self.model.encode([row.payload for row in rows], batch_size=len(rows), convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
        return list(vectors.astype(np.float32))

    def info(self) -> dict:
        return {"name": self.name, "loaded": self.model is not None}

    async def close(self, drain: bool = True) -> None:
        await self.queue.close(drain=drain)
