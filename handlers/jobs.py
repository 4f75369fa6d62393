"""Jobs: work a command started that /cancel can stop, and that may outlive its update (a bench). One type.

`RunningJob` is the job in this process (its asyncio task, its status message); `JobRecord` (storage/schema/inbox.py)
is its row, written by a `JobJournal` (the inbox's) so a restart can tell the user an interrupted job stopped.
`JobRegistry.run` runs a job inside its update (`JobMiddleware`, handlers flagged `expensive`); `JobRegistry.spawn`
starts one that outlives it. Cancelling stops it at its next await; see docs/architecture.md, "Jobs"."""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.commands import command_of
from handlers.outgoing import current_scope, rescope
from services.history import record_entry
from storage.schema.inbox import CANCELLED, DONE, FAILED, INTERRUPTED

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class RunningJob:
    """A job running in this process."""

    id: int
    chat_id: int
    user_id: int | None
    command: str
    arguments: str = ""
    command_message_id: int | None = None
    status_message_id: int | None = None  # the first message the job sent to its chat (its progress/status)
    thread_id: int | None = None
    update_id: int | None = None  # the inbox update that started it (None outside the inbox)
    name: str = ""  # e.g. "leakbench-gemma-3-270m": the journal's `kind`
    outlives_update: bool = False  # spawned: its calls are its own, not its update's (never replayed)
    task: asyncio.Task[Any] | None = None
    cancelled_by: int | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def cancelled(self) -> bool:
        return self.cancelled_by is not None

    def saw_message(self, message: object) -> None:
        """The first message the job sends to its own chat becomes its status message (what /cancel edits)."""
        first = message[0] if isinstance(message, list) and message else message
        if self.status_message_id is None and isinstance(first, Message) and first.chat.id == self.chat_id:
            self.status_message_id = first.message_id


class JobCancelled(Exception):
    def __init__(self, job: RunningJob):
        super().__init__(f"job {job.id} ({job.command}) cancelled")
        self.job = job


class JobJournal(Protocol):
    """Writes a job's row (running → done | failed | interrupted); bot/transports/inbox.py has the one there is."""

    async def track(self, job: RunningJob, work: Coroutine[Any, Any, T]) -> T: ...

    async def begin(self, session: AsyncSession, job: RunningJob) -> bool:
        """A job inside its inbox update (`journaled` handlers): its row, committed in the update's own session
        before the work starts; False when an earlier run of the update was interrupted in it (not run again)."""
        ...

    async def end(self, session: AsyncSession, job: RunningJob, status: str) -> None:
        """Its end, in the update's transaction (commits with the update's "done")."""
        ...


class JobRegistry:
    """The jobs of this process: for /cancel, for shutdown (`cancel_all`), for tests (`drain`)."""

    def __init__(self, journal: JobJournal | None = None) -> None:
        self._jobs: dict[int, RunningJob] = {}
        self._spawned: set[asyncio.Task[Any]] = set()  # strong references: the loop keeps only weak ones
        self._ids = itertools.count(1)
        self.journal = journal  # the inbox attaches its journal at start (attach_journal)

    def attach_journal(self, journal: JobJournal | None) -> None:
        self.journal = journal

    def __len__(self) -> int:
        return len(self._jobs)

    def running(self, chat_id: int, user_id: int | None = None) -> list[RunningJob]:
        return [job for job in self._jobs.values()
                if job.chat_id == chat_id and not job.cancelled and (user_id is None or job.user_id == user_id)]

    def by_message(self, chat_id: int, message_id: int) -> RunningJob | None:
        """The job whose command or status message this is (a /cancel may reply to either)."""
        for job in self._jobs.values():
            if job.chat_id == chat_id and message_id in (job.command_message_id, job.status_message_id):
                return job
        return None

    def cancel(self, job: RunningJob, by_user_id: int) -> bool:
        if job.cancelled or job.task is None or job.task.done():
            return False
        job.cancelled_by = by_user_id
        job.task.cancel()
        return True

    def new(self, *, chat_id: int, user_id: int | None, command: str, **fields: Any) -> RunningJob:
        """A job, not started yet; it belongs to the update whose calls are journaled now, if any."""
        journal = current_scope().journal
        return RunningJob(next(self._ids), chat_id, user_id, command,
                          update_id=journal.update_id if journal is not None else None, **fields)

    async def run(self, job: RunningJob, work: Coroutine[Any, Any, T], *, journaled: bool = False) -> T:
        """Run `work` as `job` in a task of its own and wait for it; raises JobCancelled when /cancel stopped it.
        `journaled`: the job gets a row too, so a crash during it is told to the user at the next start."""
        job.task = asyncio.create_task(self._inside(job, work, journaled), name=f"job-{job.id}-{job.command}")
        self._jobs[job.id] = job
        try:
            return await job.task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if job.cancelled and (current is None or not current.cancelling()):
                raise JobCancelled(job) from None
            raise  # the caller itself is being cancelled (shutdown): not a /cancel
        finally:
            self._jobs.pop(job.id, None)

    async def _inside(self, job: RunningJob, work: Coroutine[Any, Any, T], journaled: bool) -> T:
        # The task's own copy of the scope: the job's changes never reach its update.
        rescope(job=job, **({"journal": None} if job.outlives_update else {}))
        if journaled and self.journal is not None:
            return await self.journal.track(job, work)
        return await work

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str, bot: Bot,
              sessionmaker: async_sessionmaker[AsyncSession], chat_id: int, user_id: int | None, command: str,
              arguments: str = "", status_message_id: int | None = None, cancelled_text: str) -> RunningJob:
        """A job that outlives its update (a bench): journaled, and cancellable; when /cancel stops it, the status
        message says `cancelled_text` and a `cancelled` history row is written in a session of its own."""
        job = self.new(chat_id=chat_id, user_id=user_id, command=command, arguments=arguments,
                       status_message_id=status_message_id, name=name, outlives_update=True)

        async def guarded() -> None:
            try:
                await self.run(job, work, journaled=True)
            except JobCancelled:
                await announce_cancelled(bot, job, cancelled_text)
                await record_cancelled(sessionmaker, job)

        task = asyncio.create_task(guarded(), name=name)
        self._spawned.add(task)
        task.add_done_callback(self._spawn_done)
        return job

    def _spawn_done(self, task: asyncio.Task[Any]) -> None:
        self._spawned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("job %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for every spawned job (tests, the console before it exits)."""
        while self._spawned:
            await asyncio.gather(*list(self._spawned), return_exceptions=True)

    async def cancel_all(self) -> None:
        """Shutdown: spawned jobs are cancelled (their journal rows say `interrupted`)."""
        for task in list(self._spawned):
            task.cancel()
        await asyncio.gather(*list(self._spawned), return_exceptions=True)


async def announce_cancelled(bot: Bot, job: RunningJob, text: str) -> None:
    """The job's status message says "cancelled" (a new message when it had none, or it cannot be edited)."""
    if job.status_message_id is not None:
        try:
            await bot.edit_message_text(text, chat_id=job.chat_id, message_id=job.status_message_id)
            return
        except TelegramAPIError as error:  # a photo (no text to edit), or deleted meanwhile
            log.info("job %s: status message not edited (%s)", job.id, type(error).__name__)
    await bot.send_message(job.chat_id, text, message_thread_id=job.thread_id)


async def record_cancelled(sessionmaker: async_sessionmaker[AsyncSession], job: RunningJob) -> None:
    """A history row for a cancelled background job (its update's transaction is long gone)."""
    try:
        async with sessionmaker() as session, session.begin():
            await record_entry(session, user_id=job.user_id, chat_id=job.chat_id, command=job.command,
                               arguments=job.arguments, status="cancelled", result=_by(job),
                               latency_ms=int((time.monotonic() - job.started) * 1000))
    except Exception:  # the user may have been forgotten meanwhile; the job is stopped either way
        log.exception("could not record the cancellation of job %s", job.id)


def _by(job: RunningJob) -> dict[str, Any]:
    # Who cancelled, without their id: another member's id must not sit in this user's history row.
    return {"cancelled_by": "owner" if job.cancelled_by == job.user_id else "admin"}


def registry_of(data: dict[str, Any]) -> JobRegistry:
    registry = data.get("jobs")
    if registry is None:
        dispatcher = data["dispatcher"]
        registry = dispatcher.workflow_data.setdefault("jobs", JobRegistry())
        data["jobs"] = registry
    return registry


class JobMiddleware(BaseMiddleware):
    """Inner middleware (after the quota check): an `expensive` handler runs as a cancellable job. A `journaled`
    one (/leak, /flux: minutes of model or paid API work) that runs in an inbox update also gets a row, so a run
    that a crash or a restart cut is not repeated when the update runs again: its user is told it was interrupted."""

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        if not get_flag(data, "expensive"):
            return await handler(event, data)
        message: Message
        if isinstance(event, Message):
            message = event
        elif isinstance(event, CallbackQuery) and isinstance(event.message, Message):
            message = event.message
        else:
            return await handler(event, data)
        user = data.get("event_from_user")
        command, arguments = command_of(event)
        registry = registry_of(data)
        job = registry.new(chat_id=message.chat.id, user_id=user.id if user else None, command=command,
                           arguments=arguments,
                           command_message_id=message.message_id if isinstance(event, Message) else None,
                           thread_id=message.message_thread_id if message.is_topic_message else None)

        async def work() -> Any:
            return await handler(event, data)

        session: AsyncSession | None = data.get("session")
        journal = registry.journal if get_flag(data, "journaled") and job.update_id is not None else None
        if session is None:
            journal = None
        if journal is not None and session is not None and not await journal.begin(session, job):
            # An earlier run of this update started the job and never finished: the inbox tells the user once,
            # after this commit (docs/operations.md, "Jobs"); the work is not repeated.
            await data["history"].record(command, arguments, status=INTERRUPTED)
            return None
        try:
            result = await registry.run(job, work())
        except JobCancelled:
            l10n, history = data["l10n"], data["history"]
            if journal is not None and session is not None:
                await journal.end(session, job, CANCELLED)
            await announce_cancelled(data["bot"], job, l10n("job-cancelled"))
            await history.record(command, arguments, status="cancelled", result=_by(job))
            return None
        except Exception:
            if journal is not None and session is not None:
                await _failed(journal, session, job)
            raise
        if journal is not None and session is not None:
            await journal.end(session, job, DONE)
        return result


async def _failed(journal: JobJournal, session: AsyncSession, job: RunningJob) -> None:
    """FAILED in the update's transaction: it commits when the feature router answers the error (a model error),
    and rolls back with the rest otherwise (the inbox then writes it). A broken session (a database error) is left
    to that rollback."""
    try:
        await journal.end(session, job, FAILED)
    except Exception as error:  # noqa: BLE001 - the handler's own error is the one that propagates
        log.info("job %s: its failure not written in the update's transaction (%s)", job.id, type(error).__name__)
