"""The history of commands: what each one did (in the update's own transaction, rolled back with it on error), the
pages /history shows, a failed update's row, and /stats.

A handler names its command once (`history.begin("leak", arguments, model=…)`) before it calls a service; when the
service raises a typed error, the feature's error router (handlers/failures.py) records the failure under that
name, and edits the progress message the handler showed (`history.progress`) instead of sending a new one."""
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repo import privacy as privacy_repo
from storage.repo.core import BotStats, bot_stats, deactivate_chat, record_history, upsert_chat, upsert_user
from storage.schema.core import HistoryEntry

__all__ = ["BotStats", "HistoryRows", "HistoryRecorder", "Person", "Place", "Progress", "count_history",
           "history_page", "record_entry", "remember_sender", "usage_stats"]


@dataclass(frozen=True)
class Progress:
    """A message the handler sent while the work runs ("running the probe…"): the error reply replaces it."""
    chat_id: int
    message_id: int


class HistoryRecorder:
    def __init__(self, session: AsyncSession, user_id: int | None, chat_id: int | None) -> None:
        self.session, self.user_id, self.chat_id = session, user_id, chat_id
        self.started = time.perf_counter()
        self.recorded = False
        self.command: str | None = None
        self.arguments = ""
        self.model: str | None = None
        self.progress: Progress | None = None

    def begin(self, command: str, arguments: str = "", *, model: str | None = None) -> None:
        """What the update is running, for the error router should the service fail."""
        self.command, self.arguments, self.model = command, arguments, model

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    async def record(self, command: str, arguments: str = "", status: str = "ok", result: dict[str, Any] | None = None,
                     model: str | None = None, latency_ms: int | None = None) -> None:
        self.recorded = True
        await record_entry(self.session, user_id=self.user_id, chat_id=self.chat_id, command=command,
                           arguments=arguments, status=status, result=result, model=model,
                           latency_ms=self.elapsed_ms() if latency_ms is None else latency_ms)


async def record_entry(session: AsyncSession, *, user_id: int | None, chat_id: int | None, command: str,
                       arguments: str, status: str, result: dict[str, Any] | None = None, model: str | None = None,
                       latency_ms: int | None = None) -> None:
    """One history row, for work outside an update's recorder (a failed update, a cancelled background job)."""
    await record_history(session, user_id=user_id, chat_id=chat_id, command=command, arguments=arguments,
                         status=status, result=result, model=model, latency_ms=latency_ms)


@dataclass(frozen=True)
class Person:
    """Who sent an update, as Telegram described them."""
    id: int
    first_name: str | None
    last_name: str | None
    username: str | None
    language_code: str | None


@dataclass(frozen=True)
class Place:
    """The chat an update came from."""
    id: int
    type: str
    title: str | None


async def remember_sender(session: AsyncSession, person: Person | None, place: Place | None, *,
                          blocked: bool = False) -> tuple[int | None, int | None, str | None]:
    """Upserts (not reads: the rows may not exist yet, or be older than this update) for a failed update; `blocked`
    (the bot was blocked or removed there) stops sending to the chat. Returns (user id, chat id, the language the
    user or the chat chose, or None)."""
    db_user = await upsert_user(session, user_id=person.id, first_name=person.first_name,
                                last_name=person.last_name, username=person.username,
                                telegram_language=person.language_code) if person is not None else None
    db_chat = await upsert_chat(session, chat_id=place.id, type=place.type, title=place.title) \
        if place is not None else None
    if blocked and db_chat is not None:
        await deactivate_chat(session, db_chat.id)
    language = (db_user.language if db_user else None) or (db_chat.language if db_chat else None)
    return (db_user.id if db_user else None), (db_chat.id if db_chat else None), language


@dataclass(frozen=True)
class HistoryRows:
    total: int
    offset: int  # clamped to the last page
    entries: list[HistoryEntry]


async def count_history(session: AsyncSession, user_id: int, chat_id: int | None) -> int:
    """How many rows the user has (with `chat_id`, in that chat only)."""
    return await privacy_repo.count_history(session, user_id, chat_id)


async def history_page(session: AsyncSession, user_id: int, chat_id: int | None, *, offset: int,
                       size: int) -> HistoryRows:
    """One page of the user's history, newest first; an offset past the end shows the last page."""
    total = await count_history(session, user_id, chat_id)
    if total == 0:
        return HistoryRows(0, 0, [])
    offset = max(0, min(offset, (total - 1) // size * size))
    entries = await privacy_repo.history_rows(session, user_id, chat_id, offset=offset, limit=size)
    return HistoryRows(total, offset, list(entries))


async def usage_stats(session: AsyncSession) -> BotStats:
    """Users, chats and requests by status and command, for /stats."""
    return await bot_stats(session)
