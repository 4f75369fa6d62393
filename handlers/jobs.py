"""Running jobs (a /leak probe, a /spell analysis, a /flux image, a /fluxtest suite, a bench), so /cancel can stop them.

A job runs as its own asyncio task. /cancel cancels that task: the job stops at its next await (the engine's batch
queue drops a cancelled caller's rows at once, or skips them mid-batch, so no orphan rows hold a slot), its status
message says "cancelled", and its history row records `cancelled`. The update that started the job is not cancelled
itself: it sees `JobCancelled`, a plain exception, and its transaction commits the history row.

Handlers flagged `expensive` run as jobs without any code of their own (`JobMiddleware`); background work that
outlives the update (benches) registers through `JobRegistry.spawn`."""
import asyncio
import contextvars
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.commands import command_of
from services.history import record_entry

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Job:
    id: int
    chat_id: int
    user_id: int | None
    command: str
    arguments: str
    command_message_id: int | None = None
    status_message_id: int | None = None  # the first message the job sent to its chat (its progress/status)
    thread_id: int | None = None
    task: "asyncio.Task[Any] | None" = None
    cancelled_by: int | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def cancelled(self) -> bool:
        return self.cancelled_by is not None


class JobCancelled(Exception):
    def __init__(self, job: Job):
        super().__init__(f"job {job.id} ({job.command}) cancelled")
        self.job = job


current_job: contextvars.ContextVar[Job | None] = contextvars.ContextVar("current_job", default=None)


class JobRegistry:
    def __init__(self) -> None:
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._jobs)

    def running(self, chat_id: int, user_id: int | None = None) -> list[Job]:
        return [job for job in self._jobs.values()
                if job.chat_id == chat_id and not job.cancelled and (user_id is None or job.user_id == user_id)]

    def by_message(self, chat_id: int, message_id: int) -> Job | None:
        """The job whose command or status message this is (a /cancel may reply to either)."""
        for job in self._jobs.values():
            if job.chat_id == chat_id and message_id in (job.command_message_id, job.status_message_id):
                return job
        return None

    def cancel(self, job: Job, by_user_id: int) -> bool:
        if job.cancelled or job.task is None or job.task.done():
            return False
        job.cancelled_by = by_user_id
        job.task.cancel()
        return True

    async def run(self, work: Coroutine[Any, Any, T], *, chat_id: int, user_id: int | None, command: str,
                  arguments: str = "", command_message_id: int | None = None,
                  thread_id: int | None = None) -> T:
        """Run `work` as a cancellable job; raises JobCancelled when /cancel stopped it."""
        job = Job(next(self._ids), chat_id, user_id, command, arguments, command_message_id,
                  thread_id=thread_id)
        token = current_job.set(job)
        try:
            job.task = asyncio.create_task(work, name=f"job-{job.id}-{command}")  # copies the context: job included
        finally:
            current_job.reset(token)
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

    def spawn(self, spawn: Callable[[Coroutine[Any, Any, None], str], Any], work: Coroutine[Any, Any, None], *,
              name: str, bot: Bot, sessionmaker: async_sessionmaker[AsyncSession], chat_id: int,
              user_id: int | None, command: str, arguments: str = "", status_message_id: int | None = None,
              cancelled_text: str) -> None:
        """Background work (`spawn` is BackgroundTasks.spawn) that /cancel can stop: when it does, the status
        message says `cancelled_text` and a `cancelled` history row is written in a session of its own."""
        async def guarded() -> None:
            async def tracked() -> None:
                job = current_job.get()
                if job is not None and job.status_message_id is None:
                    job.status_message_id = status_message_id  # the progress message the handler sent
                await work

            try:
                await self.run(tracked(), chat_id=chat_id, user_id=user_id, command=command, arguments=arguments)
            except JobCancelled as cancelled:
                await announce_cancelled(bot, cancelled.job, cancelled_text)
                await record_cancelled(sessionmaker, cancelled.job)

        spawn(guarded(), name)


async def announce_cancelled(bot: Bot, job: Job, text: str) -> None:
    """The job's status message says "cancelled" (a new message when it had none, or it cannot be edited)."""
    if job.status_message_id is not None:
        try:
            await bot.edit_message_text(text, chat_id=job.chat_id, message_id=job.status_message_id)
            return
        except TelegramAPIError as error:  # a photo (no text to edit), or deleted meanwhile
            log.info("job %s: status message not edited (%s)", job.id, type(error).__name__)
    await bot.send_message(job.chat_id, text, message_thread_id=job.thread_id)


async def record_cancelled(sessionmaker: async_sessionmaker[AsyncSession], job: Job) -> None:
    """A history row for a cancelled background job (its update's transaction is long gone)."""
    try:
        async with sessionmaker() as session, session.begin():
            await record_entry(session, user_id=job.user_id, chat_id=job.chat_id, command=job.command,
                               arguments=job.arguments, status="cancelled", result=_by(job),
                               latency_ms=int((time.monotonic() - job.started) * 1000))
    except Exception:  # the user may have been forgotten meanwhile; the job is stopped either way
        log.exception("could not record the cancellation of job %s", job.id)


def _by(job: Job) -> dict[str, Any]:
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
    """Inner middleware (after the quota check): an `expensive` handler runs as a cancellable job."""

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

        async def work() -> Any:
            return await handler(event, data)

        try:
            return await registry.run(work(), chat_id=message.chat.id, user_id=user.id if user else None,
                                      command=command, arguments=arguments,
                                      command_message_id=message.message_id if isinstance(event, Message) else None,
                                      thread_id=message.message_thread_id if message.is_topic_message else None)
        except JobCancelled as cancelled:
            job = cancelled.job
            l10n, history = data["l10n"], data["history"]
            await announce_cancelled(data["bot"], job, l10n("job-cancelled"))
            await history.record(command, arguments, status="cancelled", result=_by(job))
            return None
