"""Where the quota windows of expensive commands are counted (`QUOTA_STORAGE`), through the `limits` library.

* `memory://` (the default): in this process; moving windows whose keys expire with their window, so memory is
  bounded by the users active in the last window.
* `redis://host:6379/0` (or `rediss://`): one set of windows shared by every replica (atomic in Redis), so a limit
  of 5 per minute is 5 per minute for the deployment.
If Redis stops answering, the quota counts in this process until it is back (logged once at each change, reminded
once a minute; `/readyz` says "degraded"): limits are per replica meanwhile (docs/operations.md, "Faults")."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

log = logging.getLogger(__name__)
KEY_PREFIX = "paperbot-quota"


@dataclass(frozen=True)
class Check:
    scope: str  # "user" or "chat"
    key: int
    limit: int  # requests per window; 0 refuses every request


def storage_uri(setting: str) -> str:
    """`limits`' URI for a QUOTA_STORAGE value: the async implementation of the same storage."""
    return setting if setting.startswith("async+") else "async+" + setting


class LimitsQuota:
    def __init__(self, storage: str = "memory://", window_s: float = 60.0, *, key_prefix: str = KEY_PREFIX):
        self.window_s, self.uri, self.key_prefix = window_s, storage, key_prefix
        self.shared = not storage.startswith("memory://")
        self._storage: Storage | None = None
        self._warned_at = 0.0
        self.fallback_since: float | None = None  # monotonic time the shared storage stopped answering

    def _limiters(self) -> tuple[MovingWindowRateLimiter, MovingWindowRateLimiter]:
        # Built on first use: limits' memory storage starts its expiry task on the running event loop.
        if self._storage is None:
            options: dict[str, Any] = {}
            if self.shared:
                # Any backend error arrives as limits.errors.StorageError.
                options = {"key_prefix": self.key_prefix, "wrap_exceptions": True}
            storage = storage_from_string(storage_uri(self.uri), **options)
            assert isinstance(storage, Storage)  # an async+ URI gives the asyncio implementation
            self._storage = storage
            self._limiter = MovingWindowRateLimiter(storage)
            self._local = MovingWindowRateLimiter(MemoryStorage()) if self.shared else self._limiter
        return self._limiter, self._local

    def _item(self, limit: int) -> RateLimitItem:
        return RateLimitItemPerSecond(limit, max(1, round(self.window_s)))

    async def acquire(self, checks: list[Check]) -> tuple[float, str | None]:
        """Counts one request against every check and returns (0, None); or, when a window is full, counts nothing
        and returns (seconds until it has room, the scope that refused)."""
        shared, local = self._limiters()
        try:
            result = await self._acquire(shared, checks)
        except Exception as error:
            if not self.shared:
                raise
            if self.fallback_since is None:
                self.fallback_since = time.monotonic()
            if time.monotonic() - self._warned_at > 60:
                self._warned_at = time.monotonic()
                log.warning("quota storage unavailable (%s); counting in this process until it is back",
                            type(error).__name__)
            return await self._acquire(local, checks)
        self._back()
        return result

    def _back(self) -> None:
        if self.fallback_since is not None:
            log.warning("quota storage back after %.1f s; windows shared again", time.monotonic() - self.fallback_since)
            self.fallback_since, self._warned_at = None, 0.0

    async def state(self) -> str | None:
        """None while the shared storage answers (or there is none); else what the fallback is, for /readyz."""
        if not self.shared:
            return None
        self._limiters()
        assert self._storage is not None
        try:
            answered = await asyncio.wait_for(self._storage.check(), 1.0)
        except Exception:  # noqa: BLE001 - a probe: any failure means "not answering"
            answered = False
        if answered:
            self._back()
            return None
        if self.fallback_since is None:
            self.fallback_since = time.monotonic()
        return "fallback: counting in this process (the shared quota storage does not answer)"

    async def _acquire(self, limiter: MovingWindowRateLimiter, checks: list[Check]) -> tuple[float, str | None]:
        for check in checks:
            if check.limit <= 0:
                return float(self.window_s), check.scope
            item, ids = self._item(check.limit), (check.scope, str(check.key))
            if not await limiter.test(item, *ids):
                return await self._wait(limiter, item, ids), check.scope
        for check in checks:
            item, ids = self._item(check.limit), (check.scope, str(check.key))
            if not await limiter.hit(item, *ids):
                # Another replica took the last slot between test and hit: give back nothing (a moving window
                # cannot un-hit), refuse, and report the wait of the window that is full.
                return await self._wait(limiter, item, ids), check.scope
        return 0.0, None

    async def _wait(self, limiter: MovingWindowRateLimiter, item: RateLimitItem, ids: tuple[str, str]) -> float:
        stats = await limiter.get_window_stats(item, *ids)
        return max(0.001, min(float(self.window_s), stats.reset_time - time.time()))

    def memory_keys(self) -> int:
        """Keys held in this process's windows (what the bound on memory is about)."""
        storage = self._local.storage if self._storage is not None else None
        return len(getattr(storage, "events", {})) if isinstance(storage, MemoryStorage) else 0
