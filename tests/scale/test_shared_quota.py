"""Quota windows shared by replicas through Redis (127.0.0.1:6379), the in-process default bounded in memory, and a
Redis outage degrading to per-process windows instead of failing the commands."""
import asyncio
import random
import sys

import limits.aio.storage.memory
import limits.aio.strategies
import pytest

from bot import metrics
from bot.middlewares.quota_backends import Check, LimitsQuota
from tests.core.test_quota_and_errors import add_expensive_handlers, texts

REDIS = "redis://127.0.0.1:6379/0"


async def _redis_reachable() -> bool:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", 6379), 2)
    except OSError:
        return False
    except TimeoutError:
        return False
    writer.close()
    return True


@pytest.fixture
async def redis_url():
    if not await _redis_reachable():
        pytest.skip("Redis at 127.0.0.1:6379 is not reachable")
    return REDIS


class StoppedClock:
    """`time.time()` / `time.monotonic()` for the in-memory windows, moved only by the test, so that no assertion
    depends on how fast this machine runs."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    stopped = StoppedClock()
    for module in (limits.aio.storage.memory, limits.aio.strategies, sys.modules[LimitsQuota.__module__]):
        monkeypatch.setattr(module, "time", stopped)
    return stopped


async def replicas(make_harness, storage: str, limit: int) -> list:
    """Two dispatchers over one database, as two web replicas are: each with its own quota middleware."""
    result = []
    for _ in range(2):
        h = await make_harness(quota_user_requests=limit, quota_storage=storage)
        add_expensive_handlers(h.dp)
        result.append(h)
    return result


async def test_replicas_share_one_window_through_redis(make_harness, redis_url):
    a, b = await replicas(make_harness, redis_url, limit=2)
    user = random.randrange(10**9, 2 * 10**9)  # a fresh key: the Redis is shared with other runs
    assert texts(await a.chat(user_id=user).send("/costly")) == ["done"]
    assert texts(await b.chat(user_id=user).send("/costly")) == ["done"]
    refusals = metrics.QUOTA_REFUSALS.labels(scope="user")._value.get()
    [refused] = texts(await a.chat(user_id=user).send("/costly"))
    assert "Try again in" in refused
    [refused] = texts(await b.chat(user_id=user).send("/costly"))
    assert "Try again in" in refused
    assert metrics.QUOTA_REFUSALS.labels(scope="user")._value.get() == refusals + 2  # on /metrics


async def test_in_process_windows_are_per_replica(make_harness):
    a, b = await replicas(make_harness, "memory://", limit=1)
    assert texts(await a.chat(user_id=5).send("/costly")) == ["done"]
    assert texts(await b.chat(user_id=5).send("/costly")) == ["done"]  # the other replica counts alone
    assert "Try again in" in texts(await a.chat(user_id=5).send("/costly"))[0]


async def test_redis_outage_falls_back_to_this_process(make_harness, caplog):
    [h, _] = await replicas(make_harness, "redis://127.0.0.1:1/0", limit=1)
    assert texts(await h.chat(user_id=6).send("/costly")) == ["done"]
    assert "Try again in" in texts(await h.chat(user_id=6).send("/costly"))[0]
    assert "quota storage unavailable" in caplog.text


async def test_memory_is_bounded_by_the_active_window(clock):
    quota = LimitsQuota("memory://", window_s=1)
    for user in range(500):
        assert await quota.acquire([Check("user", user, 3)]) == (0.0, None)
    assert quota.memory_keys() == 500
    clock.now += 1.2  # one window later, on the windows' own clock
    # Activity runs the expiry of the old windows (a pass starts at a hit when none is running); the count only
    # keeps a broken expiry from hanging the suite.
    for _ in range(1000):
        await quota.acquire([Check("user", 10**6, 3)])
        if quota.memory_keys() <= 1:
            break
        await asyncio.sleep(0.01)
    assert quota.memory_keys() == 1  # the newest user's window only


async def test_chat_window_and_zero_limit(clock):
    quota = LimitsQuota("memory://", window_s=60)
    checks = [Check("user", 1, 10), Check("chat", -100, 1)]
    assert await quota.acquire(checks) == (0.0, None)
    wait, scope = await quota.acquire([Check("user", 2, 10), Check("chat", -100, 1)])
    assert scope == "chat" and wait == 60  # the clock stood still: the whole window is left
    wait, scope = await quota.acquire([Check("user", 3, 0)])
    assert scope == "user" and wait == 60
