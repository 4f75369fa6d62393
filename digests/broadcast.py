"""Delivers rendered digest issues (`digest_deliveries` rows in state `pending`) through the aiogram Bot it is given,
within Telegram's limits, at most once per (issue, chat).

Pacing (DigestSettings): evenly spaced slots at `broadcast_per_second`, `broadcast_per_chat_interval_s` from
Telegram's answer to the next send to that chat, `broadcast_group_per_minute` per group; `broadcast_concurrency`
workers share one queue of chats. Every state transition (pending → sending → sent | blocked | failed | unknown) is
its own short transaction; a part is claimed right before its one HTTP request, and a request that may have reached
Telegram without an answer ends `unknown`, never resent (a duplicate digest is worse than a rare gap). The bot's
session middlewares are bypassed on purpose (docs/architecture.md says why). Pacing: digests/pacing.py; what an error
means for a row: digests/delivery_errors.py; the transactions: digests/deliveries.py; docs/digests.md, "Delivery"."""
import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendMessage
from aiogram.types import LinkPreviewOptions, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatkit import redact
from chatkit.chats import GROUP_TYPES
from chatkit.render import split_message
from digests.buttons import digest_keyboard
from digests.config import DigestSettings
from digests.deliveries import Deliveries
from digests.delivery_errors import Outcome, classify, describe
from digests.pacing import ChatJob, ChatPace, FloodWatch, Pace, Row, backoff_s
from storage.repo.groups import IssueMeta

log = logging.getLogger(__name__)


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


class Broadcaster:
    def __init__(self, bot: Bot, sessionmaker: async_sessionmaker[AsyncSession], settings: DigestSettings, *,
                 backoff_base_s: float = 0.5, backoff_max_s: float = 30.0, group_window_s: float = 60.0,
                 rng: random.Random | None = None, translator: Any = None):
        self.bot, self.settings = bot, settings
        self.deliveries = Deliveries(sessionmaker)
        redact.add([bot.token])  # error texts stored in the table never hold it (aiohttp errors carry the URL)
        # `translator(lang)(key)`: the digest's buttons in the subscriber's language (a plain 🔕 without one).
        self.translator = translator
        self._meta: dict[int, IssueMeta] = {}  # per issue: its subscription, paper count, forum topic
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.group_window_s = group_window_s  # Telegram's is 60 s; tests shorten it
        self.rng = rng or random.Random()
        # Shared by every run() of this instance, overlapping or not: the overall rate, the requests in flight,
        # each chat's pacing, and the rows this instance has claimed (which its own recover() must not touch).
        self._pace = Pace(settings.broadcast_per_second)
        self._floods = FloodWatch(window_s=2.0)  # two 429s this close together: a global flood, not one chat's
        self._slots = asyncio.Semaphore(settings.broadcast_concurrency)
        self._chats: dict[int, ChatPace] = {}
        self._in_flight: set[int] = set()
        self._on_error = {Outcome.RETRY_AFTER: self._retry_after, Outcome.RETRY: self._transient,
                          Outcome.SKIP: self._failed, Outcome.DROP: self._blocked, Outcome.UNKNOWN: self._unknown,
                          Outcome.ABORT: self._abort}

    # ---------- entry points ----------
    async def run(self, issue_ids: Sequence[int] | None = None) -> BroadcastReport:
        """Recover rows a crashed broadcaster left `sending`, then deliver every pending row (of these issues)."""
        started = time.monotonic()
        report = await self.recover()
        report.blocked += await self.deliveries.block_inactive(issue_ids)
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
        stranded = await self.deliveries.stranded()
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
            if await self.deliveries.settle_stranded(row.id, values):
                setattr(report, values["state"], getattr(report, values["state"]) + 1)
        if stranded:
            log.warning("digest broadcast recovery: %d sent, %d unknown", report.sent, report.unknown)
        return report

    # ---------- loading ----------
    async def _load(self, issue_ids: Sequence[int] | None) -> tuple[list[ChatJob], dict[int, list[str]]]:
        rows, texts, meta = await self.deliveries.pending(issue_ids)
        self._meta.update(meta)
        parts = {issue_id: split_message(text) for issue_id, text in texts.items()}
        self._forget_idle_chats()
        jobs: dict[int, ChatJob] = {}
        for row in rows:
            job = jobs.get(row.chat_id)
            if job is None:
                chat_id = row.chat_id
                is_group = row.chat_type in GROUP_TYPES if row.chat_type is not None else chat_id < 0
                pace = self._chats.setdefault(chat_id, ChatPace(self.settings.broadcast_group_per_minute))
                job = jobs[chat_id] = ChatJob(chat_id, is_group, deque(), pace)
            job.rows.append(Row(row.id, row.issue_id))
        # Oldest deliveries first, so a big backlog drains in the order it was scheduled.
        return sorted(jobs.values(), key=lambda job: min(row.id for row in job.rows)), parts

    def _forget_idle_chats(self) -> None:
        """Drop pacing state that no longer delays anything, so a long-lived Broadcaster does not grow forever."""
        horizon = time.monotonic() - max(self.settings.broadcast_per_chat_interval_s, self.group_window_s) - 1.0
        self._chats = {chat_id: pace for chat_id, pace in self._chats.items()
                       if pace.busy or pace.last_answer > horizon}

    # ---------- the workers ----------
    async def _broadcast(self, jobs: list[ChatJob], parts: dict[int, list[str]], report: BroadcastReport) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[ChatJob | None] = asyncio.Queue()
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

    async def _step(self, job: ChatJob, parts_of: dict[int, list[str]], report: BroadcastReport) -> float | None:
        """Send at most one part to the job's chat. Returns seconds until the chat is due again, None when done."""
        if not job.rows:
            return None
        if job.blocked:
            report.blocked += await self._block_rest(job)
            return None
        row = job.rows[0]
        parts = parts_of.get(row.issue_id) or []
        if not parts:
            await self.deliveries.settle(row, state="failed",
                                         error="the digest text shows nothing (empty after rendering)")
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
                    message_ids = await self.deliveries.claim(row, len(parts))
                    if message_ids is None:  # another broadcaster has it, or it is no longer pending
                        return self._next_row(job)
                    if len(message_ids) >= len(parts):  # every part went out earlier; only bookkeeping was missing
                        await self.deliveries.settle(row, state="sent", error=None)
                        report.sent += 1
                        return self._next_row(job)
                    return await self._attempt(job, row, parts, message_ids, report)
                finally:
                    self._in_flight.discard(row.id)
        finally:
            job.pace.busy = False

    async def _attempt(self, job: ChatJob, row: Row, parts: list[str], message_ids: list[int],
                       report: BroadcastReport) -> float | None:
        """One request for the row's next part, the row claimed; the outcome decides its next state."""
        try:
            message = await self._send(job.chat_id, parts[len(message_ids)],
                                       **self._extras(row.issue_id, last=len(message_ids) + 1 == len(parts)))
        except asyncio.CancelledError:
            raise  # the row stays `sending`: whether the part arrived is unknown (recover() says so)
        except Exception as error:
            outcome = classify(error)
            if outcome is None:  # not Telegram's: a bug; the part may have gone out
                await self._unknown(job, row, error, report)
                raise
            return await self._on_error[outcome](job, row, error, report)

        # Delivered.
        job.pace.answered(sent=True)
        job.failures = 0
        message_ids = [*message_ids, message.message_id]
        finished = len(message_ids) >= len(parts)
        await self.deliveries.settle(row, state="sent" if finished else "pending", message_ids=message_ids,
                                     error=None)
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

    # ---------- outcomes (digests/delivery_errors.py decides which) ----------
    async def _retry_after(self, job: ChatJob, row: Row, error: Exception, report: BroadcastReport) -> float:
        assert isinstance(error, TelegramRetryAfter)
        report.retried_after += 1
        wait = error.retry_after + self.rng.uniform(0.05, 0.25)
        flood = self._floods.global_flood()
        if flood:
            self._pace.pause(wait)
        log.warning("digest broadcast: 429, %s waits %.1f s (chat %s)", "every send" if flood else "this chat", wait,
                    job.chat_id)
        await self.deliveries.settle(row, state="pending", error=describe(error))
        job.pace.answered(sent=False)
        return max(wait, self._due_in(job))

    async def _transient(self, job: ChatJob, row: Row, error: Exception, report: BroadcastReport) -> float | None:
        job.failures += 1
        if job.failures > self.settings.broadcast_retries:
            await self.deliveries.settle(row, state="failed",
                                         error=f"after {job.failures} attempts: {describe(error)}")
            report.failed += 1
            return self._next_row(job)
        await self.deliveries.settle(row, state="pending", error=describe(error))
        return max(backoff_s(job.failures, self.backoff_base_s, self.backoff_max_s, self.rng), self._due_in(job))

    async def _failed(self, job: ChatJob, row: Row, error: Exception, report: BroadcastReport) -> float | None:
        await self.deliveries.settle(row, state="failed", error=describe(error))
        report.failed += 1
        return self._next_row(job)

    async def _unknown(self, job: ChatJob, row: Row, error: Exception, report: BroadcastReport) -> float | None:
        await self.deliveries.settle(row, state="unknown",
                                     error=f"may or may not have arrived, not resent: {describe(error)}")
        report.unknown += 1
        job.pace.answered(sent=True)  # it may have arrived: count it against the chat's limits
        return self._next_row(job)

    async def _blocked(self, job: ChatJob, row: Row, error: Exception, report: BroadcastReport) -> float | None:
        await self.deliveries.block_chat(job.chat_id, row, describe(error))
        report.blocked += 1
        job.rows.popleft()
        job.blocked = True
        return 0.0 if job.rows else None

    async def _abort(self, job: ChatJob, row: Row, error: Exception, report: BroadcastReport) -> float | None:
        await self.deliveries.settle(row, state="pending", error=describe(error))  # not delivered to anyone
        raise BroadcastAborted(describe(error)) from error

    def _next_row(self, job: ChatJob) -> float | None:
        job.rows.popleft()
        job.failures = 0
        return self._due_in(job) if job.rows else None

    def _due_in(self, job: ChatJob) -> float:
        return job.pace.due_in(is_group=job.is_group, interval_s=self.settings.broadcast_per_chat_interval_s,
                               group_window_s=self.group_window_s)

    async def _block_rest(self, job: ChatJob) -> int:
        ids = [row.id for row in job.rows]
        job.rows.clear()
        return await self.deliveries.block_rows(ids)
