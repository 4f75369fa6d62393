"""Embeddings over an OpenAI-compatible `/v1/embeddings` endpoint (the loopback fake): the local embedder's contract,
retries, clear errors, and `/leak` answered with no local model loaded."""
import json
import time

import numpy as np
import pytest

from fakes.openai_api import FakeOpenAI, Scripted
from models.config import ModelSettings, RemoteModel
from models.errors import ModelUnavailable, RemoteError, RequestTimeout, UnknownModel
from models.hub import ModelHub
from models.remote_embeddings import MAX_INPUTS_PER_REQUEST, RemoteEmbeddingEngine

KEY = "sk-embed-test-key-123"


@pytest.fixture
async def server():
    fake = await FakeOpenAI(api_key=KEY).start()
    yield fake
    await fake.stop()


def remote_settings(server: FakeOpenAI, **extra: object) -> ModelSettings:
    return ModelSettings(
        remote_models={
            "remote-embed": RemoteModel(base_url=server.base_url, model="bge-m3", kind="embedder",
                                        api_key_env="EMBED_KEY", timeout_s=2, retries=2),
            "remote-text": RemoteModel(base_url=server.base_url, model="llama", api_key_env="EMBED_KEY",
                                       timeout_s=5, retries=1)},
        default_embedder="remote-embed", default_text_model="remote-text", **extra)


@pytest.fixture
def hub(server, monkeypatch):  # shadows the session's local hub: nothing local in this module
    monkeypatch.setenv("EMBED_KEY", KEY)
    return ModelHub(remote_settings(server))


async def test_rows_are_normalised_ordered_and_similarity_means_something(hub, server):
    embedder = await hub.embedder().ready()
    assert isinstance(embedder, RemoteEmbeddingEngine)
    texts = ["the yellow school bus", "a yellow bus for school", "quantum chromodynamics lattice", ""]
    vectors = await embedder.embed(texts)
    assert vectors.shape[0] == 4 and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert similar > 0.5 > unrelated
    assert server.requests[-1]["model"] == "bge-m3" and server.requests[-1]["input"][3] == " "


async def test_long_lists_are_chunked_and_keep_their_order(hub, server):
    embedder = hub.embedder("remote-embed")
    texts = [f"word{i} shared" for i in range(MAX_INPUTS_PER_REQUEST * 2 + 5)]
    vectors = await embedder.embed(texts)
    assert len(server.requests) == 3 and len(vectors) == len(texts)
    single = await embedder.embed([texts[40]])
    assert np.allclose(single[0], vectors[40])


async def test_retries_429_and_5xx_then_clear_errors(hub, server):
    embedder = hub.embedder()
    server.then(Scripted(status=429, retry_after="1"), Scripted(status=503))
    started = time.perf_counter()
    vectors = await embedder.embed(["retry me"])
    assert vectors.shape[0] == 1 and time.perf_counter() - started >= 0.95
    assert len(server.requests) == 3 and embedder.errors == 2
    server.then(*[Scripted(status=500)] * 3)
    with pytest.raises(RemoteError, match="HTTP 500"):
        await embedder.embed(["x"])
    server.then(Scripted(status=400))
    with pytest.raises(RemoteError, match="HTTP 400"):
        await embedder.embed(["x"])
    server.then(Scripted(body="{not json"))
    with pytest.raises(RemoteError, match="invalid JSON"):
        await embedder.embed(["x"])
    server.then(Scripted(body='{"data": [{"embedding": [1.0]}]}'))
    with pytest.raises(RemoteError, match="expected 2 embeddings"):
        await embedder.embed(["x", "y"])
    server.then(Scripted(delay_s=3))
    with pytest.raises(RequestTimeout):
        await embedder.embed(["slow"], timeout=0.5)


async def test_remote_text_engine_counts_attempts_and_failures(hub, server):
    engine = hub.text()
    server.then(Scripted(status=503))
    await engine.generate(["Hi"])
    assert (engine.requests, engine.errors) == (2, 1)  # what /metrics exports as remote requests and errors


async def test_missing_key_and_wrong_kind_are_clear(server, monkeypatch):
    monkeypatch.delenv("EMBED_KEY", raising=False)
    with pytest.raises(ModelUnavailable, match="EMBED_KEY"):
        ModelHub(remote_settings(server)).embedder()
    monkeypatch.setenv("EMBED_KEY", KEY)
    with pytest.raises(UnknownModel):
        ModelHub(remote_settings(server)).text("remote-embed")  # an embedder is not a text model
    with pytest.raises(UnknownModel):
        ModelHub(remote_settings(server)).embedder("remote-text")


def test_remote_models_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("REMOTE_MODELS", json.dumps({"e": {"base_url": server.base_url, "model": "m",
                                                          "kind": "embedder"}}))
    monkeypatch.setenv("DEFAULT_EMBEDDER", "e")
    settings = ModelSettings()
    assert settings.default_embedder == "e" and settings.remote_models["e"].kind == "embedder"


async def test_leak_in_chat_with_only_remote_models(make_harness, hub):
    """A `web` replica's set-up: remote text and embedding backends, no local engine created."""
    h = await make_harness(hub=hub)
    calls = await h.chat(lang="en").send("/leak yellow | He works as a")
    final = [c for c in calls if c.name == "editMessageText"][-1]
    assert "yellow" in final.text and "remote-text" in final.text
    assert {type(engine).__name__ for engine in hub.loaded().values()} == {"RemoteTextEngine",
                                                                         "RemoteEmbeddingEngine"}
    await hub.close()


async def test_models_info_says_local_or_remote(server, monkeypatch, capsys):
    from models.__main__ import info

    monkeypatch.setenv("EMBED_KEY", KEY)
    await info(remote_settings(server), load=False)
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:] if line.strip()}
    assert " remote " in lines["remote-embed"] and "embedder" in lines["remote-embed"]
    assert " remote " in lines["remote-text"]
    assert " local " in lines["minilm"] and " local " in lines["gemma-3-270m"]
