"""Replicate and fal over real HTTP against the loopback fake: sync, polling, queue, retries, failures."""
import asyncio
import io
import time

import pytest
from PIL import Image
from pydantic import SecretStr

from fakes.image_api import FakeImageAPI
from models.imagegen.config import ImageGenSettings
from models.imagegen.errors import BadImage, ImageTimeout, NoKey, ProviderError, SafetyFilter
from models.imagegen.providers import Fal, Providers, Replicate

KEY = "r8_secret-key-123"


@pytest.fixture
async def fake():
    server = await FakeImageAPI(KEY).start()
    yield server
    await server.stop()


def settings(fake, **overrides) -> ImageGenSettings:
    values = dict(replicate_api_token=SecretStr(KEY), fal_key=SecretStr(KEY), imagegen_poll_interval_s=0.02,
                  replicate_api_base=f"{fake.base}/replicate/v1", fal_api_base=f"{fake.base}/fal",
                  fal_queue_base=f"{fake.base}/fal-queue", imagegen_read_timeout_s=1.0, imagegen_retries=2)
    values.update(overrides)
    return ImageGenSettings(_env_file=None, **values)


def is_png(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return image.format == "PNG"


async def test_replicate_polls_to_success_with_seed_and_go_fast_off(fake):
    provider = Replicate(settings(fake))
    image = await provider.generate("a cat sitting on a chair", seed=42)
    assert is_png(image.data) and image.seed == 42 and image.model == "black-forest-labs/flux-schnell"
    job = fake.jobs["job1"]
    assert job["seed"] == 42 and job["go_fast"] is False and job["polls"] == 2
    await provider.close()


async def test_replicate_sync_wait_mode(fake):
    fake.steps = 0  # the answer to the create call already holds the output
    provider = Replicate(settings(fake))
    await provider.generate("a dog", seed=1, model="dev")
    assert not [c for c in fake.calls if "/predictions/" in c[1]]
    assert fake.calls[0][1].endswith("/black-forest-labs/flux-dev/predictions")
    await provider.close()


async def test_fal_sync_and_queue_use_key_auth_and_returned_urls(fake):
    sync = Fal(settings(fake), queue=False)
    assert is_png((await sync.generate("a fox", seed=3)).data)
    queued = Fal(settings(fake), queue=True)
    assert is_png((await queued.generate("a fox", seed=3)).data)
    paths = [path for _, path in fake.calls]
    assert "/fal/fal-ai/flux/schnell" in paths and "/fal-queue/fal-ai/flux/schnell" in paths
    assert any(path.endswith("/status") for path in paths)
    bearer = Fal(settings(fake, fal_key=SecretStr("wrong")), queue=False)
    with pytest.raises(ProviderError) as error:
        await bearer.generate("x", seed=1)
    assert error.value.status == 401
    for provider in (sync, queued, bearer):
        await provider.close()


async def test_retries_429_with_retry_after_and_503(fake):
    fake.then("429", "503")
    started = time.perf_counter()
    provider = Replicate(settings(fake))
    await provider.generate("a cat", seed=1)
    assert time.perf_counter() - started >= 0.95  # Retry-After: 1 honoured
    assert not fake.script  # both failures were met and retried
    await provider.close()


async def test_a_create_that_may_have_started_a_paid_job_is_not_retried(fake):
    provider = Replicate(settings(fake))
    fake.then("500")
    with pytest.raises(ProviderError, match="after 1 attempt$"):
        await provider.generate("a cat", seed=1)
    await provider.close()


async def test_failures_are_specific_and_never_show_the_key(fake):
    provider = Replicate(settings(fake))
    fake.then("503", "503", "503")
    with pytest.raises(ProviderError) as error:
        await provider.generate("x", seed=1)
    assert KEY not in str(error.value)
    fake.then("badjson")
    with pytest.raises(ProviderError, match="invalid JSON"):
        await provider.generate("x", seed=1)
    fake.then("nsfw")
    with pytest.raises(SafetyFilter):
        await provider.generate("x", seed=1)
    fake.then("fail")
    with pytest.raises(ProviderError, match="CUDA out of memory"):
        await provider.generate("x", seed=1)
    fake.then("bigimage")
    with pytest.raises(BadImage):
        await Replicate(settings(fake, imagegen_max_image_bytes=1_000_000)).generate("x", seed=1)
    fal = Fal(settings(fake), queue=False)
    fake.then("nsfw")
    with pytest.raises(SafetyFilter):
        await fal.generate("x", seed=1)
    await provider.close()
    await fal.close()


async def test_timeouts_and_poll_cap(fake):
    fake.slow_s = 2.0
    fake.then("slow", "slow", "slow")
    provider = Replicate(settings(fake, imagegen_read_timeout_s=0.3, imagegen_retries=1))
    with pytest.raises(ImageTimeout):
        await provider.generate("x", seed=1)
    fake.steps = 10_000  # never finishes: the total cap ends the polling
    capped = Replicate(settings(fake, imagegen_total_timeout_s=0.5))
    with pytest.raises(ImageTimeout):
        await capped.generate("x", seed=1)
    await provider.close()
    await capped.close()


async def test_no_key_and_provider_choice(fake):
    empty = Providers(ImageGenSettings(_env_file=None, replicate_api_token=None, fal_key=None))
    assert empty.configured() == []
    with pytest.raises(NoKey):
        empty.get()
    with pytest.raises(NoKey):
        await empty.get("fal").generate("x", seed=1)
    only_fal = Providers(ImageGenSettings(_env_file=None, fal_key=SecretStr("k")))
    assert only_fal.get().name == "fal"


async def test_cancellation_stops_the_request(fake):
    fake.steps = 10_000
    provider = Replicate(settings(fake))
    task = asyncio.create_task(provider.generate("x", seed=1))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await provider.close()
