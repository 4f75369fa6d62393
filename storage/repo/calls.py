"""SQL of the Bot API call journal (table `inbox_calls`; bot/transports/calls.py decides when each runs).

The journal has its own engine and sessions (see bot/transports/calls.py), so each function takes the session it
runs in; the caller owns the transaction."""
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.schema.base import utcnow
from storage.schema.inbox import InboxCall


def _insert(session: AsyncSession) -> Callable[..., Any]:
    bind = session.bind
    return postgresql.insert if bind is not None and bind.dialect.name == "postgresql" else sqlite.insert


async def recall(session: AsyncSession, update_id: int, seq: int) -> tuple[str, Any] | None:
    """The journaled (method, result) of an update's call at position `seq`, or None when it was never made."""
    row = (await session.execute(select(InboxCall.method, InboxCall.result)
                                 .where(InboxCall.update_id == update_id, InboxCall.seq == seq))).first()
    if row is None:
        return None
    return row.method, row.result


async def intend(session: AsyncSession, update_id: int, seq: int, method: str) -> None:
    """The intent, before the request: (update_id, seq) → method with no result yet (replacing an older entry)."""
    statement = _insert(session)(InboxCall).values(update_id=update_id, seq=seq, method=method, result=None,
                                                   created_at=utcnow())
    await session.execute(statement.on_conflict_do_update(
        index_elements=["update_id", "seq"], set_={"method": method, "result": None}))


async def answer(session: AsyncSession, update_id: int, seq: int, value: Any) -> None:
    """The request's result (JSON-ready), after it."""
    await session.execute(update(InboxCall).where(InboxCall.update_id == update_id, InboxCall.seq == seq)
                          .values(result={"value": value}).execution_options(synchronize_session=False))


async def forget(session: AsyncSession, update_id: int, seq: int) -> None:
    await session.execute(delete(InboxCall).where(InboxCall.update_id == update_id, InboxCall.seq == seq))


async def prune(session: AsyncSession, before: datetime) -> int:
    """Entries older than `before`: deleted. Returns how many."""
    result = await session.execute(delete(InboxCall).where(InboxCall.created_at < before))
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


async def erase(session: AsyncSession, update_ids: Sequence[int], mentions: Callable[[Any], bool] | None) -> int:
    """/forget: the entries of `update_ids`, and (with `mentions`) every entry whose result it matches. Returns how
    many were deleted."""
    doomed = set(update_ids)
    pairs: list[tuple[int, int]] = []
    if mentions is not None:
        rows = (await session.execute(select(InboxCall.update_id, InboxCall.seq, InboxCall.result))).all()
        pairs = [(row.update_id, row.seq) for row in rows if row.update_id not in doomed and mentions(row.result)]
    for update_id, seq in pairs:
        await session.execute(delete(InboxCall).where(InboxCall.update_id == update_id, InboxCall.seq == seq))
    deleted = len(pairs)
    if doomed:
        result = await session.execute(delete(InboxCall).where(InboxCall.update_id.in_(sorted(doomed))))
        deleted += max(int(getattr(result, "rowcount", 0) or 0), 0)
    return deleted
