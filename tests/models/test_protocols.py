"""Every engine the hub can return satisfies the protocol handlers are typed against (checked without loading)."""
from models.config import ModelSettings, RemoteModel
from models.embeddings import EmbeddingEngine
from models.engine import LocalTextEngine
from models.protocols import Embedder, TextEngine
from models.registry import ModelSpec, resolve
from models.remote import RemoteTextEngine


async def test_engines_satisfy_the_protocols():
    settings = ModelSettings()
    local = LocalTextEngine(resolve("gemma-3-270m", settings), settings)
    remote = RemoteTextEngine(ModelSpec("r", "causal-lm", "base", "http://127.0.0.1:9", "remote"),
                              RemoteModel(base_url="http://127.0.0.1:9/v1", model="m"))
    embedder = EmbeddingEngine(resolve("minilm", settings), settings)
    assert isinstance(local, TextEngine) and isinstance(remote, TextEngine)
    assert isinstance(embedder, Embedder) and not isinstance(embedder, TextEngine)
    await remote.close()
