"""Delivers rendered digest issues (`digest_deliveries` rows in state `pending`) through the aiogram Bot it is given,
within Telegram's limits, at most once per (issue, chat).

Pacing (DigestSettings): evenly spaced slots at `broadcast_per_second`, `broadcast_per_chat_interval_s` from
Telegram's answer to the next send to that chat, `broadcast_group_per_minute` per group; `broadcast_concurrency`
workers share one queue of chats. Every state transition (pending → sending → sent | blocked | failed | unknown) is
its own short transaction; a part is claimed right before its one HTTP request, and a request that may have reached
Telegram without an answer ends `unknown`, never resent (a duplicate digest is worse than a rare gap). The bot's
session middlewares are bypassed on purpose. Limits, states, the claim and why: docs/digests.md, "Delivery"."""
import asyncio
import logging
import math
import random
import re
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage
from aiogram.types import LinkPreviewOptions, Message
from aiohttp import ClientConnectorError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatkit.chats import GROUP_TYPES
from chatkit.render import split_message
from digests.buttons import digest_keyboard
from digests.config import DigestSettings
from storage.repo import digest as repo
from storage.repo.core import deactivate_chat
from storage.repo.groups import IssueMeta, issue_meta

log = logging.getLogger(__name__)

# Added to every computed "due" time: Telegram's windows are not ours to the millisecond.
_MARGIN_S = 0.02
_ERROR_LIMIT = 1000
_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


@dataclass
class BroadcastReport:
    """What one run() (or recover()) settled: rows that reached each final state, 429 answers, wall time."""
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    unknown: int = 0
    retried_after: int = 0  # 429 answers waited out
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


class BroadcastAborted(RuntimeError):
    """Telegram rejected the bot itself (401/404: bad token or API base); nothing could be sent to anyone."""


async def _finish(task: asyncio.Future):
    """Waits for a shielded task after our own cancellation; its result, or None if it failed."""
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            continue  # cancelled again: keep waiting, the transaction must end before the lock is free
        except Exception:  # noqa: BLE001 - the caller is being cancelled anyway
            return None
    return None if task.cancelled() or task.exception() else task.result()


async def _to_the_end(coro):
    """Runs a state transition to its commit or rollback even when the broadcast is cancelled: a transaction cut
    half-way would leave the row's state unrecorded and, on SQLite, the write lock held by a dangling connection."""
    task = asyncio.ensure_future(coro)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await _finish(task)
        raise


class _Pace:
    """Evenly spaced send slots shared by every worker. A slot is reserved without a lock and slept for outside
    any lock; pause() pushes every later slot (and any reserved one not yet used) past a 429's retry_after."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._paused_until = 0.0

    async def wait(self) -> None:
        while True:
            now = time.monotonic()
            slot = max(now, self._next, self._paused_until)
            self._next = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
            if time.monotonic() >= self._paused_until:
                return
            # a 429 paused everything while this worker slept: take a slot after the pause

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


@dataclass
class _Row:
    id: int
    issue_id: int


class _ChatPace:
    """When Telegram last answered for a chat and, for groups, the answer times of its last `limit` sends. Kept on
    the Broadcaster, so runs that overlap (the scheduler starts one per issue) pace a chat together."""

    def __init__(self, limit: int):
        self.last_answer = -math.inf
        self.window: deque[float] = deque(maxlen=limit)
        self.busy = False  # a run is sending to this chat right now (its answer, and so the next due time, pending)

    def answered(self, sent: bool) -> None:
        self.last_answer = time.monotonic()
        if sent:
            self.window.append(self.last_answer)


@dataclass
class _ChatJob:
    """One chat's pending rows in one run, oldest issue first."""
    chat_id: int
    is_group: bool
    rows: deque[_Row]
    pace: _ChatPace
    failures: int = 0  # transient failures of the current part
    blocked: bool = False


class Broadcaster:
    def __init__(self, bot: Bot, sessionmaker: async_sessionmaker[AsyncSession], settings: DigestSettings, *,
                 backoff_base_s: float = 0.5, backoff_max_s: float = 30.0, group_window_s: float = 60.0,
                 rng: random.Random | None = None, translator: Any = None):
        self.bot, self.sessionmaker, self.settings = bot, sessionmaker, settings
        # `translator(lang)(key)`: the digest's buttons in the subscriber's language (a plain 🔕 without one).
        self.translator = translator
        self._meta: dict[int, IssueMeta] = {}  # per issue: its subscription, paper count, forum topic
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.group_window_s = group_window_s  # Telegram's is 60 s; tests shorten it
        self.rng = rng or random.Random()
        # Shared by every run() of this instance, overlapping or not: the overall rate, the requests in flight,
        # each chat's pacing, and the rows this instance has claimed (which its own recover() must not touch).
        self._pace = _Pace(settings.broadcast_per_second)
        self._recent_429: deque[float] = deque()
        self.flood_window_s = 2.0  # two 429s this close together: a global flood, not one chat's
        self._slots = asyncio.Semaphore(settings.broadcast_concurrency)
        self._chats: dict[int, _ChatPace] = {}
        self._in_flight: set[int] = set()

    # ---------- entry points ----------
    async def run(self, issue_ids: Sequence[int] | None = None) -> BroadcastReport:
        """Recover rows a crashed broadcaster left `sending`, then deliver every pending row (of these issues)."""
        started = time.monotonic()
        report = await self.recover()
        report.blocked += await self._block_inactive_chats(issue_ids)
        jobs, parts = await self._load(issue_ids)
        if jobs:
            await self._broadcast(jobs, parts, report)
        report.seconds = round(time.monotonic() - started, 3)
        log.info("digest broadcast: %s", report)
        return report

    async def recover(self) -> BroadcastReport:
        """Settle rows left `sending` by a broadcaster that died mid-request: `sent` when message_ids holds every
        part, otherwise `unknown` (never resent: the part in flight may have arrived)."""
        report = BroadcastReport()
        async with self.sessionmaker() as session:
            stranded = await repo.stranded_deliveries(session)
        for row in stranded:
            if row.id in self._in_flight:  # ours, in flight in an overlapping run(): not stranded
                continue
            done = len(row.message_ids)
            total = row.extra.get("parts") or len(split_message(row.text))
            values: dict[str, Any]
            if done >= total:
                values = dict(state="sent", error=None)
            else:
                values = dict(state="unknown", error=f"interrupted while sending part {done + 1} of {total}; "
                                                     "not resent (at most once)")
            if await _to_the_end(self._settle_stranded(row.id, values)):
                setattr(report, values["state"], getattr(report, values["state"]) + 1)
        if stranded:
            log.warning("digest broadcast recovery: %d sent, %d unknown", report.sent, report.unknown)
        return report

    async def _settle_stranded(self, delivery_id: int, values: dict[str, Any]) -> int:
        async with self.sessionmaker() as session, session.begin():
            return await repo.settle_if_sending(session, delivery_id, **values)

    # ---------- loading ----------
    async def _block_inactive_chats(self, issue_ids: Sequence[int] | None) -> int:
        return await _to_the_end(self._block_inactive_transaction(issue_ids))

    async def _block_inactive_transaction(self, issue_ids: Sequence[int] | None) -> int:
        async with self.sessionmaker() as session, session.begin():
            return await repo.block_inactive_deliveries(session, issue_ids)

    async def _load(self, issue_ids: Sequence[int] | None) -> tuple[list[_ChatJob], dict[int, list[str]]]:
        async with self.sessionmaker() as session:
            rows, texts = await repo.pending_deliveries(session, issue_ids)
            self._meta.update(await issue_meta(session, list(texts)))
        parts = {issue_id: split_message(text) for issue_id, text in texts.items()}
        self._forget_idle_chats()
        jobs: dict[int, _ChatJob] = {}
        for row in rows:
            job = jobs.get(row.chat_id)
            if job is None:
                chat_id = row.chat_id
                is_group = row.chat_type in GROUP_TYPES if row.chat_type is not None else chat_id < 0
                pace = self._chats.setdefault(chat_id, _ChatPace(self.settings.broadcast_group_per_minute))
                job = jobs[chat_id] = _ChatJob(chat_id, is_group, deque(), pace)
            job.rows.append(_Row(row.id, row.issue_id))
        # Oldest deliveries first, so a big backlog drains in the order it was scheduled.
        return sorted(jobs.values(), key=lambda job: min(row.id for row in job.rows)), parts

    def _forget_idle_chats(self) -> None:
        """Drop pacing state that no longer delays anything, so a long-lived Broadcaster does not grow forever."""
        horizon = time.monotonic() - max(self.settings.broadcast_per_chat_interval_s, self.group_window_s) - 1.0
        self._chats = {chat_id: pace for chat_id, pace in self._chats.items()
                       if pace.busy or pace.last_answer > horizon}

    # ---------- the workers ----------
    async def _broadcast(self, jobs: list[_ChatJob], parts: dict[int, list[str]], report: BroadcastReport) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_ChatJob | None] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        live = len(jobs)
        workers = min(self.settings.broadcast_concurrency, len(jobs))
        timers: list[asyncio.TimerHandle] = []

        async def worker() -> None:
            nonlocal live
            while (job := await queue.get()) is not None:
                due_in = await self._step(job, parts, report)
                if due_in is None:  # nothing left for this chat
                    live -= 1
                    if live == 0:
                        for _ in range(workers):
                            queue.put_nowait(None)
                elif due_in <= 0:
                    queue.put_nowait(job)
                else:
                    timers.append(loop.call_later(due_in, queue.put_nowait, job))

        tasks = [asyncio.create_task(worker(), name=f"digest-broadcast-{index}") for index in range(workers)]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            # gather() has cancelled the workers once already; a second cancel() would interrupt their clean-up
            # (the rollback that releases a connection, and SQLite's write lock with it). Let them finish it.
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        except BaseException:  # a worker failed (BroadcastAborted, a database error): stop the others
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            for timer in timers:
                timer.cancel()

    async def _step(self, job: _ChatJob, parts_of: dict[int, list[str]], report: BroadcastReport) -> float | None:
        """Send at most one part to the job's chat. Returns seconds until the chat is due again, None when done."""
        if not job.rows:
            return None
        if job.blocked:
            report.blocked += await self._block_rest(job)
            return None
        row = job.rows[0]
        parts = parts_of.get(row.issue_id) or []
        if not parts:
            await self._settle(row, state="failed", error="the digest text shows nothing (empty after rendering)")
            report.failed += 1
            return self._next_row(job)

        if job.pace.busy:  # an overlapping run is sending to this chat: due no sooner than an interval from now
            return max(self.settings.broadcast_per_chat_interval_s, 0.05)
        if (due_in := self._due_in(job)) > 0:  # an overlapping run sent to this chat meanwhile
            return due_in

        job.pace.busy = True  # no await since the checks above: no other run can slip in between
        try:
            async with self._slots:
                await self._pace.wait()
                self._in_flight.add(row.id)  # before the claim commits, so an overlapping recover() never sees it
                try:
                    message_ids = await self._claim(row, len(parts))
                    if message_ids is None:  # another broadcaster has it, or it is no longer pending
                        return self._next_row(job)
                    if len(message_ids) >= len(parts):  # every part went out earlier; only bookkeeping was missing
                        await self._settle(row, state="sent", error=None)
                        report.sent += 1
                        return self._next_row(job)
                    return await self._attempt(job, row, parts, message_ids, report)
                finally:
                    self._in_flight.discard(row.id)
        finally:
            job.pace.busy = False

    async def _attempt(self, job: _ChatJob, row: _Row, parts: list[str], message_ids: list[int],
                       report: BroadcastReport) -> float | None:
        """One request for the row's next part, the row claimed; the outcome decides its next state."""
        try:
            message = await self._send(job.chat_id, parts[len(message_ids)],
                                       **self._extras(row.issue_id, last=len(message_ids) + 1 == len(parts)))
        except TelegramRetryAfter as error:
            report.retried_after += 1
            wait = error.retry_after + self.rng.uniform(0.05, 0.25)
            # One 429 may be about this chat only (Telegram also sends them within the limits); the chat waits.
            # A second one within the window means the bot as a whole is over the limit: every send waits.
            now = time.monotonic()
            self._recent_429.append(now)
            while self._recent_429 and now - self._recent_429[0] > self.flood_window_s:
                self._recent_429.popleft()
            if len(self._recent_429) >= 2:
                self._pace.pause(wait)
            log.warning("digest broadcast: 429, %s waits %.1f s (chat %s)",
                        "every send" if len(self._recent_429) >= 2 else "this chat", wait, job.chat_id)
            await self._settle(row, state="pending", error=self._describe(error))
            job.pace.answered(sent=False)
            return max(wait, self._due_in(job))
        except TelegramForbiddenError as error:
            return await self._blocked(job, row, error, report)
        except TelegramMigrateToChat as error:  # the text names the new supergroup id; its rows need new deliveries
            await self._settle(row, state="failed", error=self._describe(error))
            report.failed += 1
            return self._next_row(job)
        except TelegramBadRequest as error:
            if "chat not found" in error.message.lower():
                return await self._blocked(job, row, error, report)
            await self._settle(row, state="failed", error=self._describe(error))
            report.failed += 1
            return self._next_row(job)
        except (TelegramUnauthorizedError, TelegramNotFound) as error:
            await self._settle(row, state="pending", error=self._describe(error))  # not delivered to anyone
            raise BroadcastAborted(self._describe(error)) from error
        except TelegramEntityTooLarge as error:  # a network error by class, but Telegram answered it
            await self._settle(row, state="failed", error=self._describe(error))
            report.failed += 1
            return self._next_row(job)
        except (TelegramServerError, TelegramNetworkError) as error:
            if isinstance(error, TelegramNetworkError) and not isinstance(error.__cause__, ClientConnectorError):
                return await self._unknown(job, row, error, report)
            return await self._transient(job, row, error, report)
        except (ClientDecodeError, TelegramAPIError) as error:  # an answer we cannot read, or one we do not know
            return await self._unknown(job, row, error, report)
        except asyncio.CancelledError:
            raise  # the row stays `sending`: whether the part arrived is unknown (recover() says so)
        except Exception as error:
            await self._unknown(job, row, error, report)
            raise

        # Delivered.
        job.pace.answered(sent=True)
        job.failures = 0
        message_ids = [*message_ids, message.message_id]
        finished = len(message_ids) >= len(parts)
        await self._settle(row, state="sent" if finished else "pending", message_ids=message_ids, error=None)
        if finished:
            report.sent += 1
            job.rows.popleft()
        return self._due_in(job) if job.rows else None

    def _extras(self, issue_id: int, *, last: bool) -> dict[str, Any]:
        """The forum topic chosen at /subscribe (General when none) and, on the last part, the digest's buttons."""
        meta = self._meta.get(issue_id)
        if meta is None:
            return {}
        extras: dict[str, Any] = {}
        if meta.thread_id is not None:
            extras["message_thread_id"] = meta.thread_id
        if last:
            label = self.translator(meta.language)("btn-digest-unsubscribe") if self.translator else "🔕"
            markup = digest_keyboard(issue_id, meta.subscription_id, meta.papers, label)
            if markup is not None:
                extras["reply_markup"] = markup
        return extras

    async def _send(self, chat_id: int, text: str, **extras: Any) -> Message:
        method = SendMessage(chat_id=chat_id, text=text, parse_mode=ParseMode.HTML,
                             link_preview_options=LinkPreviewOptions(is_disabled=True), **extras)
        return await self.bot.session.make_request(self.bot, method)

    # ---------- outcomes ----------
    async def _transient(self, job: _ChatJob, row: _Row, error: Exception, report: BroadcastReport) -> float | None:
        job.failures += 1
        if job.failures > self.settings.broadcast_retries:
            await self._settle(row, state="failed", error=f"after {job.failures} attempts: {self._describe(error)}")
            report.failed += 1
            return self._next_row(job)
        await self._settle(row, state="pending", error=self._describe(error))
        backoff = min(self.backoff_max_s, self.backoff_base_s * 2 ** (job.failures - 1))
        backoff = backoff / 2 + self.rng.uniform(0, backoff / 2)  # "equal jitter": retries of many chats spread out
        return max(backoff, self._due_in(job))

    async def _unknown(self, job: _ChatJob, row: _Row, error: Exception, report: BroadcastReport) -> float | None:
        await self._settle(row, state="unknown", error=f"may or may not have arrived, not resent: "
                                                       f"{self._describe(error)}")
        report.unknown += 1
        job.pace.answered(sent=True)  # it may have arrived: count it against the chat's limits
        return self._next_row(job)

    async def _blocked(self, job: _ChatJob, row: _Row, error: Exception, report: BroadcastReport) -> float | None:
        await _to_the_end(self._block_chat_transaction(job.chat_id, row, self._describe(error)))
        report.blocked += 1
        job.rows.popleft()
        job.blocked = True
        return 0.0 if job.rows else None

    async def _block_chat_transaction(self, chat_id: int, row: _Row, error: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            await repo.set_delivery(session, row.id, state="blocked", error=error)
            await deactivate_chat(session, chat_id)

    def _next_row(self, job: _ChatJob) -> float | None:
        job.rows.popleft()
        job.failures = 0
        return self._due_in(job) if job.rows else None

    def _due_in(self, job: _ChatJob) -> float:
        pace = job.pace
        due = pace.last_answer + self.settings.broadcast_per_chat_interval_s
        if job.is_group and pace.window.maxlen and len(pace.window) == pace.window.maxlen:
            due = max(due, pace.window[0] + self.group_window_s)
        wait = due - time.monotonic()
        return wait + _MARGIN_S if wait > 0 else 0.0

    # ---------- the table ----------
    async def _claim(self, row: _Row, parts: int) -> list[int] | None:
        """pending → sending, committed before the request. Returns the ids of the parts already sent, or None when
        the row was not pending any more (another broadcaster claimed it first). Cancelled meanwhile, the claim
        still finishes and is then undone: no request went out, so the row is plainly pending again."""
        task = asyncio.ensure_future(self._claim_transaction(row, parts))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if await _finish(task) is not None:
                await _finish(asyncio.ensure_future(self._settle_transaction(row, state="pending")))
            raise

    async def _claim_transaction(self, row: _Row, parts: int) -> list[int] | None:
        async with self.sessionmaker() as session, session.begin():
            return await repo.claim_delivery(session, row.id, parts)

    async def _settle(self, row: _Row, **values) -> None:
        await _to_the_end(self._settle_transaction(row, **values))

    async def _settle_transaction(self, row: _Row, **values) -> None:
        async with self.sessionmaker() as session, session.begin():
            await repo.set_delivery(session, row.id, **values)

    async def _block_rest(self, job: _ChatJob) -> int:
        ids = [row.id for row in job.rows]
        job.rows.clear()
        return await _to_the_end(self._block_transaction(ids))

    async def _block_transaction(self, ids: list[int]) -> int:
        async with self.sessionmaker() as session, session.begin():
            return await repo.block_deliveries(session, ids)

    def _describe(self, error: BaseException) -> str:
        """The error for the table: its class and Telegram's words, never the bot token (aiohttp errors can
        carry the request URL, which holds it)."""
        text = f"{type(error).__name__}: {getattr(error, 'message', None) or error}"
        token = getattr(self.bot, "token", None)
        if token:
            text = text.replace(token, "[token]")
        return _TOKEN_SHAPE.sub("[token]", text)[:_ERROR_LIMIT]
