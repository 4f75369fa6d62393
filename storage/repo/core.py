"""Repositories for users, chats and history."""
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.repo.upsert import upsert
from storage.schema.base import utcnow
from storage.schema.core import Chat, HistoryEntry, User


def _clean(text: str | None, limit: int | None = None) -> str | None:
    """PostgreSQL text columns reject NUL ("invalid byte sequence for encoding UTF8: 0x00"); SQLite takes it.
    Drop it here so one odd character in a name or an argument cannot fail every update of a user; cut to the
    column's length, which PostgreSQL enforces and SQLite does not."""
    if text is None:
        return None
    text = text.replace("\x00", "")
    return text[:limit] if limit is not None else text


async def upsert_user(session: AsyncSession, *, user_id: int, first_name: str | None, last_name: str | None,
                      username: str | None, telegram_language: str | None) -> User:
    now = utcnow()
    values = dict(id=user_id, first_name=_clean(first_name, 256), last_name=_clean(last_name, 256),
                  username=_clean(username, 64), telegram_language=_clean(telegram_language, 16),
                  created_at=now, last_seen_at=now)
    await upsert(session, User.__table__, values, key="id",
                 update=["first_name", "last_name", "username", "telegram_language", "last_seen_at"])
    user = await session.get(User, user_id, populate_existing=True)
    assert user is not None  # upserted just above, in this transaction
    return user


async def upsert_chat(session: AsyncSession, *, chat_id: int, type: str, title: str | None) -> Chat:
    now = utcnow()
    values = dict(id=chat_id, type=type, title=_clean(title, 256), settings={}, active=True, created_at=now,
                  last_seen_at=now)
    await upsert(session, Chat.__table__, values, key="id", update=["type", "title", "last_seen_at", "active"])
    chat = await session.get(Chat, chat_id, populate_existing=True)
    assert chat is not None  # upserted just above, in this transaction
    return chat


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_chat(session: AsyncSession, chat_id: int) -> Chat | None:
    return await session.get(Chat, chat_id)


async def user_and_chat(session: AsyncSession, user_id: int, chat_id: int) -> tuple[User, Chat] | None:
    """Both rows in one round trip, or None when either is missing."""
    row = (await session.execute(select(User, Chat).join_from(User, Chat, Chat.id == chat_id)
                                 .where(User.id == user_id))).first()
    return (row[0], row[1]) if row is not None else None


async def set_user_language(session: AsyncSession, user: User, code: str) -> None:
    user.language = code  # the row is the one the context middleware loaded in this session
    await session.flush()


async def set_chat_language(session: AsyncSession, chat: Chat, code: str) -> None:
    chat.language = code
    await session.flush()


async def deactivate_chat(session: AsyncSession, chat_id: int) -> None:
    """The bot was blocked or removed there: nothing more is sent to it (digests skip inactive chats)."""
    await session.execute(update(Chat).where(Chat.id == chat_id).values(active=False)
                          .execution_options(synchronize_session="fetch"))


async def record_history(session: AsyncSession, *, user_id: int | None, chat_id: int | None, command: str,
                         arguments: str, status: str, result: dict[str, Any] | None = None,
                         model: str | None = None, latency_ms: int | None = None) -> HistoryEntry:
    entry = HistoryEntry(user_id=user_id, chat_id=chat_id, command=_clean(command, 32),
                         arguments=_clean(arguments, 4000),
                         status=status, result=result or {}, model=model, latency_ms=latency_ms)
    session.add(entry)
    await session.flush()
    return entry


async def forget_user(session: AsyncSession, user_id: int) -> int:
    """Delete every row about the user; returns how many history rows went with them."""
    result = await session.execute(delete(HistoryEntry).where(HistoryEntry.user_id == user_id))
    deleted = getattr(result, "rowcount", 0)  # a CursorResult for DML
    await session.execute(delete(User).where(User.id == user_id))
    return deleted or 0


async def count_users(session: AsyncSession, ids: tuple[int, int] | None = None) -> int:
    """Users, or those whose id lies in [low, high]."""
    query = select(func.count()).select_from(User)
    if ids is not None:
        query = query.where(User.id.between(*ids))
    return await session.scalar(query) or 0


async def count_requests(session: AsyncSession, status: str | None = None) -> int:
    """History rows of everyone, or those with this status."""
    query = select(func.count()).select_from(HistoryEntry)
    if status is not None:
        query = query.where(HistoryEntry.status == status)
    return await session.scalar(query) or 0



async def count_history_by_user(session: AsyncSession, command: str) -> dict[int, int]:
    """History rows of one command, per user (rows without a user left out)."""
    rows = (await session.execute(select(HistoryEntry.user_id, func.count()).group_by(HistoryEntry.user_id)
                                  .where(HistoryEntry.command == command))).all()
    return {int(user): int(n) for user, n in rows if user is not None}

@dataclass
class BotStats:
    users: int
    chats: int
    requests: int
    errors: int
    rejected: int
    by_command: list[tuple[str, int, int]]  # (command, requests, errors)


async def bot_stats(session: AsyncSession) -> BotStats:
    users = await session.scalar(select(func.count()).select_from(User))
    chats = await session.scalar(select(func.count()).select_from(Chat))
    status_counts = dict((await session.execute(
        select(HistoryEntry.status, func.count()).group_by(HistoryEntry.status))).all())
    errors = func.sum(case((HistoryEntry.status == "error", 1), else_=0))
    rows = (await session.execute(
        select(HistoryEntry.command, func.count(), errors).group_by(HistoryEntry.command)
        .order_by(func.count().desc()))).all()
    return BotStats(users=users or 0, chats=chats or 0, requests=sum(status_counts.values()),
                    errors=status_counts.get("error", 0), rejected=status_counts.get("rejected", 0),
                    by_command=[(command, total, int(err or 0)) for command, total, err in rows])
