"""The durable inbox worker: updates are stored first (webhook or polling), processed from the database, and marked
done in the same transaction as the handler's writes, so an acknowledged update is never lost and never counted twice.

A duplicate `update_id` is acknowledged and not processed again; a crash leaves claimed rows whose lease runs out
(`INBOX_LEASE_S`; on SQLite the next start takes them back at once); shutdown gives back the updates it had to cancel
so the next start runs them whole; background work an update spawned, and /leak or /flux inside it, is journaled
as a job: one cut by a shutdown or a crash is told to its user once, and not run again; a transient failure
(database or Bot API briefly away) is rolled back and run again after a jittered backoff, never recorded as the
update's failure.
The diagram and the details: docs/operations.md, "Updates: the durable inbox" and "Faults"."""
from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import Update
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import metrics
from bot.middlewares.metrics import update_kind
from bot.transports import calls
from handlers.jobs import RunningJob
from handlers.outgoing import JournalPosition, scoped
from storage.db import Outage, Pool, create_engine, create_sessionmaker, is_transient
from storage.repo import inbox as repo
from storage.schema.base import utcnow
from storage.schema.inbox import CANCELLED, DONE, FAILED, INTERRUPTED, RUNNING

log = logging.getLogger("bot.inbox")
T = TypeVar("T")
# An update that was claimed this many times and never finished (it keeps killing its process, say) is given up.
MAX_ATTEMPTS = 5
# Runs of one claim that a transient failure may cost before the update goes back to the inbox (and counts as an
# attempt when it is claimed again); the backoff between them doubles from RETRY_BASE_S up to RETRY_MAX_S (short:
# an update waits at most that long after its dependency is back; a failed attempt costs one refused connection).
TRANSIENT_RETRIES = 8
RETRY_BASE_S, RETRY_MAX_S = 0.5, 5.0
RETRIES = Counter("paperbot_inbox_retries", "Update runs rolled back by a transient failure and run again",
                  ["reason"], registry=metrics.REGISTRY)
OUTAGES = Counter("paperbot_dependency_failures", "Failed attempts to reach a dependency (database, Bot API)",
                  ["dependency"], registry=metrics.REGISTRY)


def transient_kind(error: BaseException) -> tuple[str, float] | None:
    """("database" | "bot_api", seconds to wait at least) when `error` is one a later run can get past, else None.
    A Bot API timeout counts: the call journal forgot the call that failed, so the run sends it again."""
    if isinstance(error, TelegramRetryAfter):
        return "bot_api", float(error.retry_after)
    if isinstance(error, (TelegramServerError, TelegramNetworkError)):
        return "bot_api", 0.0
    if is_transient(error):
        return "database", 0.0
    return None


def backoff_s(retry: int, at_least: float = 0.0) -> float:
    """Exponential backoff with "equal jitter" (a uniform draw over the upper half of the step), so the updates a
    fault hit at the same moment do not come back at the same moment; never less than `at_least` (retry_after)."""
    step = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** max(0, retry - 1))
    wait = random.uniform(step / 2, step)
    return max(wait, at_least + random.uniform(0.0, 0.5)) if at_least else wait


def new_owner_id() -> str:
    """Unique per process start: host, pid and a random part (a pid is reused after a restart)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


BACKLOG_TTL_S = 0.5


class JobJournal:
    """Writes each job's row (`JobRecord`): running → done | failed | interrupted (handlers.jobs.JobJournal).
    A spawned job's row is written in sessions of its own (`track`); a job inside its update in the update's own
    session (`begin`, `end`): SQLite has one writer, and the update may hold it while its handler runs."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], owner: str):
        self.sessionmaker, self.owner = sessionmaker, owner
        self.in_updates: dict[int, int] = {}  # update_id → the row of the job it runs now (this process)
        self.tell_after: set[int] = set()  # updates that found their earlier run interrupted: notify after commit

    async def begin(self, session: AsyncSession, job: RunningJob) -> bool:
        """The row of a job that runs inside its inbox update, committed now, before the work starts (the session
        holds nothing a rerun does not repeat harmlessly: middleware upserts). False when an earlier run of this
        update started the job and never finished it (its process died, or a restart cut it): the job is marked
        interrupted in the update's transaction and not run again; the user is told after the commit."""
        assert job.update_id is not None
        kind = job.name or job.command
        earlier = await repo.latest_job_of_update(session, job.update_id, kind)
        if earlier is not None and earlier.status == RUNNING and earlier.owner == self.owner:
            job_id = earlier.id  # this process's run of it, rolled back by a transient failure: it runs again
        elif earlier is not None and earlier.status in (RUNNING, INTERRUPTED):
            # RUNNING under another owner: that process died or lost its claim (this run holds the claim now).
            log.warning("update %s: its %s job (id %s) was interrupted in an earlier run; not run again",
                        job.update_id, kind, earlier.id)
            await repo.interrupt_job(session, earlier.id)
            if not earlier.notified:
                self.tell_after.add(job.update_id)
            return False
        else:
            job_id = await repo.start_job(session, kind=kind, owner=self.owner, command=job.command,
                                          update_id=job.update_id, chat_id=job.chat_id, user_id=job.user_id,
                                          thread_id=job.thread_id)
        await session.commit()
        self.in_updates[job.update_id] = job_id
        return True

    async def end(self, session: AsyncSession, job: RunningJob, status: str) -> None:
        """The job's end, in the update's transaction: it commits with the update's "done" (or rolls back with it:
        then the inbox marks it failed when the update failed, and a crash leaves it running, i.e. interrupted)."""
        job_id = self.in_updates.get(job.update_id) if job.update_id is not None else None
        if job_id is not None:
            await repo.finish_job(session, job_id, status)

    async def track(self, job: RunningJob, coroutine: Coroutine[Any, Any, T]) -> T:
        name = job.name or job.command
        job_id: int | None = None
        try:
            async with self.sessionmaker() as session, session.begin():
                job_id = await repo.start_job(session, kind=name, owner=self.owner, command=job.command,
                                              update_id=job.update_id, chat_id=job.chat_id, user_id=job.user_id,
                                              thread_id=job.thread_id)
        except Exception:
            log.exception("could not journal job %s", name)
        status = FAILED
        try:
            result = await coroutine
            status = DONE
            return result
        except asyncio.CancelledError:
            status = CANCELLED if job.cancelled else INTERRUPTED  # /cancel, or a shutdown
            if not job.cancelled:
                log.warning("job %s (id %s) interrupted", name, job_id)
            raise
        finally:
            if job_id is not None:
                # Shielded: the write must reach its commit even while this task is being cancelled.
                await _shielded(self._finish(job_id, status))

    async def _finish(self, job_id: int, status: str) -> None:
        try:
            async with self.sessionmaker() as session, session.begin():
                await repo.finish_job(session, job_id, status)
        except Exception:
            log.exception("could not record the end of job %s", job_id)


async def _wait_all(tasks: list[asyncio.Task[None]], timeout: float, hurry: asyncio.Event | None) -> None:
    """Until every task is done, `timeout` passed, or `hurry` is set (a second signal)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    hurried = asyncio.ensure_future(hurry.wait()) if hurry is not None else None
    try:
        while any(not task.done() for task in tasks) and not (hurry is not None and hurry.is_set()):
            left = deadline - loop.time()
            if left <= 0:
                return
            waiting: list[asyncio.Future[Any]] = [task for task in tasks if not task.done()]
            await asyncio.wait(waiting + ([hurried] if hurried else []), timeout=left,
                               return_when=asyncio.FIRST_COMPLETED)
    finally:
        if hurried is not None:
            hurried.cancel()


async def _shielded(awaitable: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(awaitable)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


class Inbox:
    def __init__(self, bot: Bot, dp: Dispatcher, sessionmaker: async_sessionmaker[AsyncSession], *,
                 workers: int = 20, lease_s: float = 30.0, retention_h: float = 48.0, poll_s: float = 1.0,
                 single_process: bool | None = None, owner: str | None = None, max_backlog: int = 0):
        self.bot, self.dp, self.sessionmaker = bot, dp, sessionmaker
        self.workers, self.lease_s, self.retention = max(1, workers), lease_s, timedelta(hours=retention_h)
        self.poll_s = poll_s
        self.owner = owner or new_owner_id()
        dialect = sessionmaker.kw["bind"].dialect.name if sessionmaker.kw.get("bind") is not None else "sqlite"
        # SQLite is for one process: any claim found at start belongs to a process that died.
        self.single_process = dialect == "sqlite" if single_process is None else single_process
        self.dialect = dialect
        self.accepting = False
        self.journal = JobJournal(sessionmaker, self.owner)
        self._running: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._stopping = False
        self._loops: list[asyncio.Task[None]] = []
        self.processed = 0  # updates finished by this process (done or failed)
        self.calls: calls.CallJournal | None = None
        self._calls_middleware: calls.CallJournalStage | None = None
        # One warning when a dependency starts failing, one when it is back (storage.db.Outage); the Bot API's
        # episode ends only after a quiet spell, so a share of failing calls is one episode, not a line per call.
        self.database = Outage(log, "database", quiet_s=2.0)
        self.bot_api = Outage(log, "Bot API", quiet_s=5.0)
        # Unfinished updates (every replica's) above which the webhook refuses new ones (INBOX_MAX_BACKLOG; 0: no
        # bound), read from the database at most every BACKLOG_TTL_S and counted up locally in between.
        self.max_backlog = max(0, max_backlog)
        self._backlog: tuple[float, int] = (-1e9, 0)
        self._backlog_lock = asyncio.Lock()
        self.intake: async_sessionmaker[AsyncSession] | None = None  # the webhook's own pool (start)
        self.intake_engine: AsyncEngine | None = None

    @classmethod
    def from_settings(cls, bot: Bot, dp: Dispatcher, settings: Any) -> Inbox:
        return cls(bot, dp, dp["sessionmaker"], workers=getattr(settings, "inbox_workers", 20),
                   lease_s=getattr(settings, "inbox_lease_s", 30.0),
                   retention_h=getattr(settings, "inbox_retention_h", 48.0),
                   max_backlog=getattr(settings, "inbox_max_backlog", 0))

    # --- intake ---
    async def store(self, payloads: list[tuple[int, dict[str, Any]]]) -> list[int]:
        """Store updates (committed when this returns); returns the ids that were new."""
        async with (self.intake or self.sessionmaker)() as session, session.begin():
            new = await repo.store_updates(session, payloads)
        if new:
            at, count = self._backlog
            self._backlog = (at, count + len(new))
            self._wake.set()
        return new

    async def backlog(self) -> int:
        """Unfinished updates in the inbox (all replicas'), at most BACKLOG_TTL_S old."""
        if time.monotonic() - self._backlog[0] > BACKLOG_TTL_S:
            async with self._backlog_lock:  # one count for a burst of POSTs, not one each
                if time.monotonic() - self._backlog[0] > BACKLOG_TTL_S:
                    async with (self.intake or self.sessionmaker)() as session:
                        self._backlog = (time.monotonic(), await repo.count_unfinished(session))
        return self._backlog[1]

    async def overloaded(self) -> bool:
        """Whether the backlog passed INBOX_MAX_BACKLOG: the webhook then refuses (Telegram slows down and resends)
        rather than accepting updates it cannot finish soon."""
        return self.max_backlog > 0 and await self.backlog() >= self.max_backlog

    def wake(self) -> None:
        self._wake.set()

    # --- life cycle ---
    async def start(self) -> None:
        bind = self.sessionmaker.kw.get("bind")
        if bind is not None and self.intake is None and bind.url.database not in (None, "", ":memory:"):
            # The webhook's inserts get a small pool of their own with a short wait: handlers hold their
            # connections across Bot API calls (and their 429 waits), and an exhausted handler pool must not
            # keep Telegram's POST waiting; a pool timeout here is a 503 (transient), and /readyz asks this pool.
            # All six kept open: under a burst of POSTs, overflow connections were opened and closed per insert.
            self.intake_engine = create_engine(bind.url.render_as_string(hide_password=False),
                                               pool=Pool(size=6, overflow=0, timeout_s=5.0))
            # Autocommit: storing an update is one statement (INSERT … ON CONFLICT DO NOTHING RETURNING), so it is
            # one round trip instead of three (BEGIN, INSERT, COMMIT) for every POST, and the backlog count one.
            self.intake = create_sessionmaker(self.intake_engine.execution_options(isolation_level="AUTOCOMMIT"))
        if bind is not None and self.calls is None:
            self.calls = await calls.CallJournal.open(bind.url.render_as_string(hide_password=False))
            self._calls_middleware = calls.install(self.bot, self.calls)
            self.dp["call_journal"] = self.calls  # /forget erases the user's journal entries (services/privacy.py)
        async with self.sessionmaker() as session, session.begin():
            if self.single_process:
                taken_back = await repo.release_all(session)
                stale = await repo.interrupt_stale_jobs(session, stale_before=None)
            else:
                taken_back = 0
                stale = await repo.interrupt_stale_jobs(session, stale_before=utcnow() - timedelta(
                    seconds=self.lease_s))
            unfinished = await repo.count_unfinished(session)
        if unfinished or taken_back or stale:
            log.warning("inbox at start: %d unfinished updates (%d taken back from a stopped process) will be "
                        "processed now; %d interrupted jobs", unfinished, taken_back, stale)
        jobs = self.dp.workflow_data.get("jobs")
        if jobs is not None:
            jobs.attach_journal(self.journal)
        self.accepting = True
        self._loops = [asyncio.create_task(self._claim_loop(), name="inbox-claim"),
                       asyncio.create_task(self._maintenance_loop(), name="inbox-maintenance")]
        await self.notify_interrupted_jobs()

    async def stop(self, grace_s: float = 20.0, hurry: asyncio.Event | None = None) -> dict[str, int]:
        """Stop claiming, let the updates in flight finish for up to `grace_s` (or until `hurry` is set), give
        back the rest."""
        if self._stopping:
            return {}
        self.accepting = False
        self._stopping = True
        self._stop.set()
        self._wake.set()
        # The loops end at their next turn: a task cancelled inside a SQLite transaction can leave the database
        # locked until its connection is collected (every other writer then waits out the busy timeout).
        _done, late = await asyncio.wait(self._loops, timeout=10)
        for loop in late:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        in_flight = len(self._running)
        if self._running:
            log.info("shutdown: waiting up to %.0f s for %d updates in flight", grace_s, in_flight)
            await _wait_all(list(self._running.values()), grace_s, hurry)
        cut = list(self._running)
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
        given_back, pending = 0, -1
        try:
            async with asyncio.timeout(10):
                async with self.sessionmaker() as session, session.begin():
                    given_back = await repo.release(session, self.owner)
                    pending = await repo.count_unfinished(session)
        except Exception:  # noqa: BLE001 - a cut handler may still hold SQLite's lock: the next start takes them back
            log.warning("shutdown: the cut updates could not be given back now; the next start takes them back")
        if self._calls_middleware is not None:
            calls.uninstall(self.bot, self._calls_middleware)
        if self.calls is not None:
            await self.calls.close()
        if self.intake_engine is not None:
            await self.intake_engine.dispose()
        summary = {"in_flight": in_flight, "finished": in_flight - len(cut), "cut": len(cut),
                   "given_back": given_back, "pending": pending, "processed": self.processed}
        log.info("shutdown: %d of %d updates in flight finished, %d cut at the deadline and given back; "
                 "%d updates left in the inbox for the next start (%d processed by this process)",
                 summary["finished"], in_flight, len(cut), pending, self.processed)
        return summary

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until the inbox holds nothing unfinished (tests and benchmarks)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            async with self.sessionmaker() as session:
                if not await repo.count_unfinished(session) and not self._running:
                    return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the inbox did not drain")
            self._wake.set()
            await asyncio.sleep(0.02)

    # --- work ---
    async def _claim_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            free = self.workers - len(self._running)
            claimed: list[repo.Claimed] = []
            if free > 0:
                try:
                    async with self.sessionmaker() as session, session.begin():
                        rows = await repo.claim(session, owner=self.owner, limit=free, lease_s=self.lease_s,
                                                running=list(self._running))
                    # Only a committed claim is ours: when the commit fails (SQLite's disk full), the rows it
                    # returned were rolled back, and running them anyway ran unclaimed updates again and again
                    # (the fault bench's disk_full: 151 replies sent twice while the journal could not write).
                    claimed = rows
                    self.database.ok()
                except Exception as error:  # noqa: BLE001 - one line per outage, a traceback if not transient
                    self._storage_failed(error, "claim")
            if self._stopping:
                break  # claimed just now: stop() gives them back
            for row in claimed:
                if row.update_id in self._running:
                    continue  # finished meanwhile and claimed again? never two runs of one update in a process
                self._running[row.update_id] = asyncio.create_task(self._process(row),
                                                                   name=f"update-{row.update_id}")
            if claimed and len(claimed) == free:
                continue  # there may be more
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
            except TimeoutError:
                pass

    async def _process(self, row: repo.Claimed) -> None:
        try:
            await self._handle(row)
        finally:
            self._running.pop(row.update_id, None)
            self.journal.in_updates.pop(row.update_id, None)
            self.journal.tell_after.discard(row.update_id)
            self._wake.set()  # a worker is free

    async def _handle(self, row: repo.Claimed) -> None:
        if row.attempts > MAX_ATTEMPTS:
            log.error("update %s given up after %d attempts", row.update_id, row.attempts - 1)
            await self._finish_outside(row.update_id, FAILED, "too many attempts", row.attempts)
            return
        try:
            update = Update.model_validate(row.payload, context={"bot": self.bot})
        except Exception as error:  # noqa: BLE001 - stored before validation existed, or a schema change
            log.error("update %s: stored payload is not an Update (%s)", row.update_id, type(error).__name__)
            await self._finish_outside(row.update_id, FAILED, "invalid payload", row.attempts)
            return
        if update_kind(update) is None:
            # A kind newer than this aiogram (`{"update_id": 41, "brand_new": {}}`): acknowledged, counted and done,
            # never an error (aiogram's own warning about it would print the body).
            metrics.UPDATES.labels(command="unknown_kind", status="skipped").inc()
            await self._finish_outside(row.update_id, DONE, "unknown update kind", row.attempts)
            self.processed += 1
            return
        retries = 0
        while True:
            transient = await self._run(row, update, replay=row.attempts > 1 or retries > 0)
            if transient is None:
                break
            kind, at_least = transient
            retries += 1
            RETRIES.labels(reason=kind).inc()
            if retries > TRANSIENT_RETRIES:
                await self._give_back(row.update_id, kind)
                return
            if not await self._wait_to_retry(row.update_id, retries, at_least):
                return  # another process holds it now: its run is the one that counts
        self.processed += 1

    async def _run(self, row: repo.Claimed, update: Update, *, replay: bool) -> tuple[str, float] | None:
        """One run of the update through the dispatcher; (kind, wait) when a transient failure rolled it back."""
        finished = lost = False
        transient: tuple[str, float] | None = None
        handler_session: list[AsyncSession] = []

        async def finish(session: AsyncSession) -> None:
            # Called by DatabaseMiddleware inside the handler's transaction, right before its commit. Fenced by the
            # claim's attempt number: a run whose claim was taken over (and perhaps finished) commits nothing.
            nonlocal finished, lost
            if not await repo.complete(session, row.update_id, self.owner, attempt=row.attempts):
                lost = True
                raise repo.NotClaimed(row.update_id)
            finished = True

        async def fence() -> None:
            # SQLite with two owners of one file (only tests make that): the lease check before a send runs in the
            # handler's own session (one writer: a second connection would wait on the handler's own lock).
            if handler_session and not await repo.confirm(handler_session[-1], row.update_id, self.owner,
                                                          row.attempts, self.lease_s):
                raise repo.NotClaimed(row.update_id)

        def on_transient(error: BaseException) -> bool:
            # Called by DatabaseMiddleware when the handler (or its commit) failed: True takes the failure off the
            # errors router (no failure recorded, no apology); the run was rolled back and is repeated here.
            nonlocal transient, finished
            transient = transient_kind(error)
            if transient is None:
                return False
            finished = False  # a commit that failed after "done" was written did not count
            outage = self.database if transient[0] == "database" else self.bot_api
            OUTAGES.labels(dependency=transient[0]).inc()
            outage.failed(error)
            return True

        # Before each journaled send, a run whose lease ran out and was claimed by another process (a stall past
        # INBOX_LEASE_S) is stopped: it sends nothing new. One process per database: nobody can take a claim over.
        # PostgreSQL: the journal is a table of the same database, so the check is a read in the intent's own
        # session, just before it (a plain SELECT that never waits on a lock; the handler may hold its own row's).
        shared = not self.single_process
        position = JournalPosition(row.update_id, replay=replay,
                                   fence=fence if shared and self.dialect == "sqlite" else None,
                                   claim=(self.owner, row.attempts) if shared and self.dialect != "sqlite" else None)
        # A second claim: the first run may have sent messages before it died; the journal answers for them.
        try:
            with scoped(journal=position):
                await self.dp.feed_update(self.bot, update, finish_update=finish, transient_failure=on_transient,
                                          hold_session=handler_session.append)
        except asyncio.CancelledError:
            raise  # stop() gives the row back
        except repo.NotClaimed:
            lost = True  # refused outside the handler's transaction (the errors router's apology, say)
        except Exception as error:
            if not on_transient(error):
                log.exception("update %s failed outside the handlers", row.update_id)
        lost = lost or position.lost
        if transient is not None:
            return transient
        self.bot_api.ok()
        if lost:
            log.info("update %s: this run's claim was taken over; the other run is the one that counts",
                     row.update_id)
        elif finished:
            self.database.ok()
            if row.update_id in self.journal.tell_after:
                # Its earlier run's job was interrupted; the mark committed with "done": the user is told now.
                self.journal.tell_after.discard(row.update_id)
                await self.notify_interrupted_jobs()
        else:
            # The handler failed (its transaction was rolled back, the errors router recorded the failure in a
            # transaction of its own): done with it, not retried forever. Its job's end was rolled back too.
            await self._finish_outside(row.update_id, FAILED, None, row.attempts, jobs=self._open_jobs(row))
        return None

    def _open_jobs(self, row: repo.Claimed) -> list[int]:
        job_id = self.journal.in_updates.get(row.update_id)
        return [job_id] if job_id is not None else []

    async def _wait_to_retry(self, update_id: int, retries: int, at_least: float) -> bool:
        """Back off, then confirm the claim (renewing its lease) before the next run: False when another process
        took the update over meanwhile. While the database does not answer, keep backing off."""
        while not self._stopping:
            await asyncio.sleep(backoff_s(retries, at_least))
            try:
                async with self.sessionmaker() as session, session.begin():
                    ours = await repo.renew(session, self.owner, [update_id], self.lease_s)
            except Exception as error:
                if not is_transient(error):
                    log.exception("update %s: could not renew its claim", update_id)
                    return False
                OUTAGES.labels(dependency="database").inc()
                self.database.failed(error)
                retries, at_least = min(retries + 1, 10), 0.0
                continue
            self.database.ok()
            if not ours:
                log.info("update %s was taken over by another process while it waited to be retried", update_id)
            return bool(ours)
        return False  # stopping: stop() gives the claim back

    async def _give_back(self, update_id: int, kind: str) -> None:
        """Too many transient failures in one claim: back to the inbox (pending), claimed again later. Its job's
        row (rolled back to running) ends failed, so the next claim runs the job again rather than calling it
        interrupted."""
        log.warning("update %s: %s still failing after %d runs; given back to the inbox", update_id, kind,
                    TRANSIENT_RETRIES + 1)
        job_id = self.journal.in_updates.get(update_id)
        try:
            async with self.sessionmaker() as session, session.begin():
                await repo.release(session, self.owner, [update_id])
                await repo.fail_jobs(session, [job_id] if job_id is not None else [])
        except Exception as error:  # noqa: BLE001 - its lease runs out and anyone claims it again
            self._storage_failed(error, f"give back update {update_id}")

    def _storage_failed(self, error: BaseException, what: str) -> None:
        if is_transient(error):
            OUTAGES.labels(dependency="database").inc()
            self.database.failed(error)
        else:
            log.exception("inbox: %s failed", what)

    async def _finish_outside(self, update_id: int, status: str, error: str | None, attempt: int,
                              jobs: list[int] | None = None) -> None:
        async def write() -> None:
            async with self.sessionmaker() as session, session.begin():
                if await repo.complete(session, update_id, self.owner, status=status, error=error, attempt=attempt):
                    await repo.fail_jobs(session, jobs or [])
        try:
            await _shielded(write())
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - one line per outage, a traceback if not transient
            self._storage_failed(error, f"mark update {update_id} {status}")

    # --- upkeep ---
    async def _maintenance_loop(self) -> None:
        """Heartbeat (renew the leases of the updates and jobs in flight), stale jobs, pruning."""
        beat = max(0.2, self.lease_s / 3)
        last_prune = 0.0
        loop = asyncio.get_running_loop()
        failed_beat = False
        while not self._stopping:
            try:
                # After a failed heartbeat, try again within a second: leases must be renewed as soon as the
                # database is back, before another process sees them run out.
                await asyncio.wait_for(self._stop.wait(), timeout=min(beat, 1.0) if failed_beat else beat)
                return
            except TimeoutError:
                pass
            try:
                async with self.sessionmaker() as session, session.begin():
                    await repo.renew(session, self.owner, list(self._running), self.lease_s)
                    await repo.heartbeat_jobs(session, self.owner)
                    stale = 0
                    if not self.single_process:
                        stale = await repo.interrupt_stale_jobs(
                            session, stale_before=utcnow() - timedelta(seconds=self.lease_s * 2))
                    pruned = (0, 0)
                    if loop.time() - last_prune > 3600:
                        last_prune = loop.time()
                        pruned = await repo.prune(session, before=utcnow() - self.retention)
                        if self.calls is not None:
                            await self.calls.prune(utcnow() - self.retention)
                if stale:
                    await self.notify_interrupted_jobs()
                if any(pruned):
                    log.info("inbox: pruned %d finished updates and %d jobs older than %s", *pruned,
                             self.retention)
                self.database.ok()
                failed_beat = False
            except Exception as error:  # noqa: BLE001 - one line per outage, a traceback if not transient
                self._storage_failed(error, "maintenance")
                failed_beat = True

    async def prune(self) -> tuple[int, int]:
        if self.calls is not None:
            await self.calls.prune(utcnow() - self.retention)
        async with self.sessionmaker() as session, session.begin():
            return await repo.prune(session, before=utcnow() - self.retention)

    async def _send_notice(self, chat_id: int, thread_id: int | None, text: str) -> None:
        if thread_id is not None:
            try:
                await self.bot.send_message(chat_id, text, message_thread_id=thread_id)
                return
            except TelegramBadRequest as error:
                if "thread not found" not in error.message.lower():
                    raise
        await self.bot.send_message(chat_id, text)

    async def notify_interrupted_jobs(self) -> int:
        """Tell each user whose job a shutdown or a crash cut that it was interrupted (once)."""
        from handlers.i18n import Translator
        from storage.schema.core import Chat, User

        try:
            async with self.sessionmaker() as session, session.begin():
                jobs = await repo.unnotified_interrupted_jobs(session)
                notices = []
                for job in jobs:
                    if job.chat_id is None:
                        continue
                    user = await session.get(User, job.user_id) if job.user_id else None
                    chat = await session.get(Chat, job.chat_id)
                    lang = (user.language if user else None) or (chat.language if chat else None) or \
                        (user.telegram_language if user else None) or "en"
                    notices.append((job.chat_id, job.thread_id, Translator(lang[:2])(
                        "job-interrupted", command="/" + (job.command or job.kind))))
        except Exception:
            log.exception("could not read interrupted jobs")
            return 0
        for chat_id, thread_id, text in notices:
            try:
                # In the forum topic the job was asked in (not General); a topic deleted meanwhile: General.
                await self._send_notice(chat_id, thread_id, text)
            except Exception:
                log.warning("could not tell chat %s about its interrupted job", chat_id, exc_info=True)
        return len(notices)

