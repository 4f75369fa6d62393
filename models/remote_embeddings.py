"""The embedding-engine interface over an OpenAI-compatible `/v1/embeddings` endpoint (vLLM, llama.cpp's server,
text-embeddings-inference, Ollama): how a `web` replica runs `/leak` with no local model loaded.

Same contract as the local `EmbeddingEngine`: `await embed(texts) -> numpy.ndarray` of L2-normalised float32 rows
(the server may or may not normalise; normalising here makes cosine similarity a dot product either way). Errors and
retries follow `models.remote`: 429 and 5xx are retried with jittered backoff honouring Retry-After, anything else
is a `RemoteError` at once."""
import asyncio
import logging

import numpy as np

from models.config import RemoteModel
from models.errors import BadRequest, RemoteError, RequestTimeout
from models.registry import ModelSpec
from models.remote import RemoteEndpoint

log = logging.getLogger(__name__)

# Inputs per HTTP request: servers cap a batch (TEI's default is 32 per client batch, vLLM's is larger); a long list
# is sent in chunks rather than refused.
MAX_INPUTS_PER_REQUEST = 32
MAX_INPUT_CHARS = 8192  # about 2k tokens: a longer text is cut, as the local model truncates at its own limit


class RemoteEmbeddingEngine(RemoteEndpoint):
    def __init__(self, spec: ModelSpec, remote: RemoteModel, *, request_timeout_s: float = 180.0):
        super().__init__(spec, remote)
        self.request_timeout_s = request_timeout_s

    async def ready(self) -> "RemoteEmbeddingEngine":
        return self

    async def embed(self, texts: list[str], timeout: float | None = None) -> np.ndarray:
        """L2-normalised float32 rows, one per text, in the order given."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if any(not isinstance(text, str) for text in texts):
            raise BadRequest("texts must be strings")
        # An empty string is refused by some servers (OpenAI's API among them); a single space embeds to the same
        # "nothing" a local model gives an empty string, and continuations can legitimately be empty.
        inputs = [text[:MAX_INPUT_CHARS] if text.strip() else " " for text in texts]
        chunks = [inputs[i:i + MAX_INPUTS_PER_REQUEST] for i in range(0, len(inputs), MAX_INPUTS_PER_REQUEST)]
        try:
            parts = await asyncio.wait_for(asyncio.gather(*(self._embed_chunk(chunk) for chunk in chunks)),
                                           timeout or self.request_timeout_s)
        except TimeoutError:
            raise RequestTimeout(timeout or self.request_timeout_s) from None
        matrix = np.concatenate(parts, axis=0).astype(np.float32, copy=False)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if np.any(norms == 0) or not np.all(np.isfinite(norms)):
            raise RemoteError(f"{self.name}: the endpoint returned a zero or non-finite vector")
        normalised: np.ndarray = matrix / norms
        return normalised

    async def _embed_chunk(self, inputs: list[str]) -> np.ndarray:
        data = await self._post("/embeddings", {"model": self.remote.model, "input": inputs,
                                                "encoding_format": "float"})
        try:
            items = sorted(data["data"], key=lambda item: item.get("index", 0))
            rows = [np.asarray(item["embedding"], dtype=np.float32) for item in items]
        except (KeyError, TypeError, ValueError) as error:
            raise RemoteError(f"{self.name}: malformed response ({type(error).__name__}: {error})") from None
        if len(rows) != len(inputs):
            raise RemoteError(f"{self.name}: expected {len(inputs)} embeddings, got {len(rows)}")
        if len({row.shape for row in rows}) != 1 or rows[0].ndim != 1 or rows[0].size == 0:
            raise RemoteError(f"{self.name}: embeddings of different or empty shapes")
        return np.stack(rows)
