"""APScheduler 3 with its job store in the bot's database, run by exactly one process (docs/digests.md).

APScheduler 3 must not share a job store between processes, so it starts only in the process holding the scheduler
lock (a PostgreSQL advisory lock, or an exclusive file lock beside an SQLite database); the others retry the lock
(`DIGEST_SCHEDULER=off` keeps a process out). Jobs: `digest:fetch` (every DIGEST_FETCH_INTERVAL_MIN), `digest:sync`
(every minute: one cron job per active subscription), `digest:pending` (reading-list papers arXiv could not
describe yet, with backoff) and `digest:<subscription id>`. On SQLite the job store is a
file of its own (`<db>.jobs.sqlite3`): APScheduler writes it synchronously on the event-loop thread, and waiting there
for a lock an async transaction holds would stall the loop. A job at most DIGEST_MISFIRE_GRACE_S late still runs;
missed runs coalesce, and repeats are harmless (an issue exists once per slot)."""
import asyncio
import fcntl
import logging
import os
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from digests.pending import Backoff, Resolved
from digests.subscription import WEEKDAYS
from storage.db import sync_url
from storage.repo.digest import active_subscriptions
from storage.schema.digest import Subscription

if TYPE_CHECKING:
    from digests.service import DigestService

log = logging.getLogger(__name__)
LOCK_KEY = zlib.crc32(b"paperbot:digest-scheduler")  # one advisory-lock number for this application
JOB_TABLE = "apscheduler_jobs"
# The DigestService the persisted jobs call (jobs are stored by reference, not pickled objects).
_SERVICE: "DigestService | None" = None


# ---------- job functions: module-level so the job store can refer to them by name ----------
async def fetch_job() -> None:
    if _SERVICE is None:  # a job fired after stop(): nothing to run it with
        return
    try:
        report = await _SERVICE.fetch_all()
        log.info("digest fetch: %s", report)
    except Exception:  # a failed run is logged; the next interval tries again
        log.exception("digest fetch failed")


async def subscription_job(subscription_id: int) -> None:
    if _SERVICE is None:
        return
    try:
        await _SERVICE.run_subscription(subscription_id)
    except Exception:  # one subscription's failure must not stop the scheduler
        log.exception("digest for subscription %s failed", subscription_id)


async def pending_job() -> None:
    """Reading-list papers arXiv could not describe yet, looked up again; after a fruitless run the next waits
    longer (PENDING_BACKOFF: 10 min doubling to a day), so an arXiv outage is not hammered."""
    if _SERVICE is None or not PENDING_BACKOFF.due(_clock()):
        return
    try:
        outcome = await _SERVICE.resolve_pending()
    except Exception:  # a failed run waits like a fruitless one; the scheduler goes on
        log.exception("resolving pending reading-list papers failed")
        outcome = Resolved(pending=1, resolved=0)
    PENDING_BACKOFF.record(outcome, _clock())
    if outcome.pending:
        log.info("pending reading-list papers: %s of %s resolved", outcome.resolved, outcome.pending)


async def sync_job() -> None:
    if _SCHEDULER is not None:
        await _SCHEDULER.sync_subscriptions()


_SCHEDULER: "DigestScheduler | None" = None
PENDING_BACKOFF = Backoff()
_clock = time.monotonic  # the backoff's clock (a test freezes it without freezing the event loop's)
PENDING_INTERVAL_MIN = 10  # how often the pending job wakes; the backoff decides whether it looks


def jobstore_url(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return "sqlite://"
        return f"sqlite:///{url.database}.jobs.sqlite3"
    return sync_url(database_url)


class SchedulerLock:
    """Held for the life of the scheduler. PostgreSQL: pg_try_advisory_lock on a dedicated connection.
    SQLite (and anything else): flock on `<database>.scheduler.lock`."""

    def __init__(self, engine: AsyncEngine, database_url: str):
        self.engine, self.url = engine, make_url(database_url)
        self._connection: AsyncConnection | None = None
        self._file: TextIO | None = None

    async def acquire(self) -> bool:
        if self.url.get_backend_name() == "postgresql":
            connection = await self.engine.connect()
            got = (await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})).scalar()
            await connection.commit()
            if got:
                self._connection = connection
            else:
                await connection.close()
            return bool(got)
        path = Path(f"{self.url.database or 'memory'}.scheduler.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")  # noqa: ASYNC230 - a local lock file, opened once at start; kept open while held
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return True

    async def release(self) -> None:
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                await self._connection.commit()
            finally:
                await self._connection.close()
                self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class DigestScheduler:
    def __init__(self, service: "DigestService", engine: AsyncEngine, database_url: str, *,
                 fetch_interval_min: int = 60, misfire_grace_s: int = 3600, retry_lock_s: float = 60.0) -> None:
        self.service, self.engine, self.database_url = service, engine, database_url
        self.fetch_interval_min, self.misfire_grace_s, self.retry_lock_s = fetch_interval_min, misfire_grace_s, \
            retry_lock_s
        self.lock = SchedulerLock(engine, database_url)
        self.scheduler: AsyncIOScheduler | None = None
        self._waiting: asyncio.Task | None = None
        self._resume: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self.scheduler is not None and self.scheduler.running

    async def start(self) -> bool:
        """Starts now if the lock is free; otherwise keeps trying in the background. True when started now."""
        if await self._try_start():
            return True
        log.info("digest scheduler runs in another process; this one will take over if it stops")
        self._waiting = asyncio.create_task(self._wait_for_lock(), name="digest-scheduler-lock")
        return False

    async def _wait_for_lock(self) -> None:
        while not await self._try_start():
            await asyncio.sleep(self.retry_lock_s)

    async def _try_start(self) -> bool:
        global _SERVICE, _SCHEDULER
        if not await self.lock.acquire():
            return False
        _SERVICE, _SCHEDULER = self.service, self
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=jobstore_url(self.database_url), tablename=JOB_TABLE)},
            job_defaults={"coalesce": True, "misfire_grace_time": self.misfire_grace_s, "max_instances": 1},
            timezone="UTC")
        self.scheduler.start()
        self.scheduler.add_job(fetch_job, IntervalTrigger(minutes=self.fetch_interval_min), id="digest:fetch",
                               name="fetch sources", replace_existing=True)
        self.scheduler.add_job(sync_job, IntervalTrigger(minutes=1), id="digest:sync", name="sync subscriptions",
                               replace_existing=True)
        self.scheduler.add_job(pending_job, IntervalTrigger(minutes=PENDING_INTERVAL_MIN), id="digest:pending",
                               name="resolve pending reading-list papers", replace_existing=True)
        await self.sync_subscriptions()
        # Deliveries a crash left pending go out now (sent ones are never repeated).
        self._resume = asyncio.create_task(self.service.deliver_pending(), name="digest-resume")  # kept: not GC'd
        log.info("digest scheduler started")
        return True

    async def sync_subscriptions(self) -> None:
        """One cron job per active subscription; jobs of removed subscriptions are dropped."""
        scheduler = self.scheduler
        if scheduler is None or not scheduler.running:
            return
        async with self.service.sessionmaker() as session:
            subscriptions = await active_subscriptions(session)
        wanted = {f"digest:{s.id}": s for s in subscriptions}
        for job in scheduler.get_jobs():
            if job.id.startswith("digest:") and job.id[7:].isdigit() and job.id not in wanted:
                job.remove()
        for job_id, subscription in wanted.items():
            trigger = cron_trigger(subscription)
            job = scheduler.get_job(job_id)
            if job is not None and repr(job.trigger) == repr(trigger):  # repr includes the timezone
                continue
            scheduler.add_job(subscription_job, trigger, args=[subscription.id], id=job_id,
                                   name=f"digest for chat {subscription.chat_id}", replace_existing=True)

    async def stop(self) -> None:
        global _SERVICE, _SCHEDULER
        if self._waiting is not None:
            self._waiting.cancel()
            self._waiting = None
        if self.scheduler is not None:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)
                # AsyncIOScheduler defers shutdown to the next loop iteration: let it finish before the lock goes,
                # or this scheduler could still fire a job after another process took over.
                await asyncio.sleep(0.01)
            self.scheduler = None
            _SERVICE = _SCHEDULER = None
        await self.lock.release()


def cron_trigger(subscription: Subscription) -> CronTrigger:
    hour, minute = map(int, subscription.time.split(":"))
    weekday = subscription.weekday if subscription.schedule == "weekly" else None
    day_of_week = WEEKDAYS[weekday] if weekday is not None else "*"
    return CronTrigger(hour=hour, minute=minute, day_of_week=day_of_week, timezone=subscription.timezone)
