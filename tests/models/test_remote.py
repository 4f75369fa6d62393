"""The remote backend against a loopback OpenAI-compatible server: retries, Retry-After, errors, timeouts."""
import time

import pytest

from fakes.openai_api import FakeOpenAI, Scripted
from models.config import ModelSettings, RemoteModel
from models.errors import RemoteError, RequestTimeout, RequestTooLarge
from models.hub import ModelHub


@pytest.fixture
async def server():
    fake = await FakeOpenAI(api_key="sk-test-key-123").start()
    yield fake
    await fake.stop()


@pytest.fixture
def engine(server, monkeypatch):
    monkeypatch.setenv("REMOTE_KEY", "sk-test-key-123")
    settings = ModelSettings(remote_models={"remote": RemoteModel(base_url=server.base_url, model="big-model",
                                                                  api_key_env="REMOTE_KEY", timeout_s=2, retries=2)})
    return ModelHub(settings).text("remote")


async def test_completions_with_n_and_stop(engine, server):
    result = await engine.generate(["A", "B"], n=2, temperature=0.7, max_new_tokens=8, stop=["."], seed=3)
    assert len(result) == 2 and all(len(samples) == 2 for samples in result)
    assert result[1][1] == " continuation of 'B' #1"  # cut at the stop string
    request = server.requests[-1]
    assert request["model"] == "big-model" and request["n"] == 2 and request["seed"] == 3


async def test_retries_429_honouring_retry_after_then_5xx(engine, server):
    server.then(Scripted(status=429, retry_after="1"), Scripted(status=503))
    started = time.perf_counter()
    [[text]] = await engine.generate(["Hi"])
    assert text.startswith(" continuation") and time.perf_counter() - started >= 0.95
    assert len(server.requests) == 3


async def test_persistent_errors_and_bad_responses_are_clear(engine, server):
    server.then(*[Scripted(status=500)] * 3)
    with pytest.raises(RemoteError, match="HTTP 500"):
        await engine.generate(["Hi"])
    server.then(Scripted(status=400))
    with pytest.raises(RemoteError, match="HTTP 400"):
        await engine.generate(["Hi"])
    server.then(Scripted(body="{not json"))
    with pytest.raises(RemoteError, match="invalid JSON"):
        await engine.generate(["Hi"])
    with pytest.raises(RequestTooLarge):
        await engine.generate(["Hi"], n=1000)


async def test_slow_server_times_out(engine, server):
    server.then(Scripted(delay_s=3))
    with pytest.raises(RequestTimeout):
        await engine.generate(["Hi"], timeout=0.5)
    server.then(*[Scripted(delay_s=3)] * 3)
    with pytest.raises(RemoteError, match="timed out"):
        await engine.generate(["Hi"])


async def test_wrong_key_is_reported_without_the_key(server, monkeypatch):
    monkeypatch.setenv("REMOTE_KEY", "sk-wrong-secret-999")
    settings = ModelSettings(remote_models={"remote": RemoteModel(base_url=server.base_url, model="m",
                                                                  api_key_env="REMOTE_KEY", retries=0)})
    with pytest.raises(RemoteError) as error:
        await ModelHub(settings).text("remote").generate(["Hi"])
    assert "401" in str(error.value) and "sk-wrong-secret-999" not in str(error.value)


def test_retry_after_header_forms_are_read_safely():
    import email.utils
    import time

    import httpx

    from models.remote import MAX_RETRY_AFTER_S, retry_after_seconds

    def header(value):
        return retry_after_seconds(httpx.Response(429, headers={"Retry-After": value}))

    assert header("3") == 3.0 and header("99999") == MAX_RETRY_AFTER_S
    assert header("not a date, not a number") is None and header("Wed, 99 Foo 2026") is None
    assert 5 <= header(email.utils.formatdate(time.time() + 10, usegmt=True)) <= 11
    assert retry_after_seconds(httpx.Response(429)) is None
