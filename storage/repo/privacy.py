"""SQL for /export and /forget: everything stored about one user, read and removed (services/privacy.py decides)."""
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, Text, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.schema.base import Base
from storage.schema.core import Chat, HistoryEntry, User
from storage.schema.digest import Delivery, DigestIssue, DigestItem, DigestSource, Paper, Subscription
from storage.schema.flux import FluxGeneration, FluxVote
from storage.schema.groups import DigestVote
from storage.schema.leak import LeakResult
from storage.schema.profile import ReadingListEntry


def row_dict(row: Base) -> dict[str, Any]:
    """Every mapped column of a row, JSON-ready (datetimes as ISO strings)."""
    out: dict[str, Any] = {}
    for column in row.__table__.columns:
        value = getattr(row, column.key)
        out[column.key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


async def user_rows(session: AsyncSession, user_id: int) -> dict[str, Sequence[Base]]:
    """The rows that are the user's own, by table."""
    async def rows(query: Any) -> Sequence[Base]:
        return (await session.scalars(query)).all()

    return {
        "history": await rows(select(HistoryEntry).where(HistoryEntry.user_id == user_id)
                              .order_by(HistoryEntry.created_at, HistoryEntry.id)),
        "leak_results": await rows(select(LeakResult).where(LeakResult.user_id == user_id).order_by(LeakResult.id)),
        "flux_generations": await rows(select(FluxGeneration).where(FluxGeneration.user_id == user_id)
                                       .order_by(FluxGeneration.id)),
        "flux_votes": await rows(select(FluxVote).where(FluxVote.user_id == user_id).order_by(FluxVote.id)),
        "digest_votes": await rows(select(DigestVote).where(DigestVote.user_id == user_id).order_by(DigestVote.id)),
        "digest_reading_list": await rows(select(ReadingListEntry).where(ReadingListEntry.chat_id == user_id)
                                          .order_by(ReadingListEntry.id)),  # their private chat's list
        "subscriptions": await rows(select(Subscription).where(
            or_(Subscription.created_by == user_id, Subscription.chat_id == user_id)).order_by(Subscription.id)),
        "submissions": await submissions(session, user_id),
    }


async def submissions(session: AsyncSession, user_id: int) -> Sequence[DigestItem]:
    """/submit items: the shared "submit" source, external id "<user id>:<message id>"."""
    return (await session.scalars(
        select(DigestItem).join(DigestSource, DigestSource.id == DigestItem.source_id)
        .where(DigestSource.kind == "submit", DigestItem.external_id.like(f"{user_id}:%"))
        .order_by(DigestItem.id))).all()


async def private_chat(session: AsyncSession, user_id: int) -> Chat | None:
    chat = await session.get(Chat, user_id)
    return chat if chat is not None and chat.type == "private" else None


async def mentioning(session: AsyncSession, table: Any, column: Any, needle: str) -> Sequence[Any]:
    """Rows of a JSON/text column whose text contains `needle` (a pre-filter; callers check the parsed value)."""
    return (await session.execute(select(table).where(cast(column, Text).like(f"%{needle}%")))).all()


async def delete_own_rows(session: AsyncSession, user_id: int) -> dict[str, int]:
    """Rows that are only the user's: deleted. Returns how many per table."""
    counts: dict[str, int] = {}
    for name, model, column in (
        ("history", HistoryEntry, HistoryEntry.user_id),
        ("leak_results", LeakResult, LeakResult.user_id),
        ("flux_votes", FluxVote, FluxVote.user_id),
        ("flux_generations", FluxGeneration, FluxGeneration.user_id),  # their votes by others go with them
        ("digest_votes", DigestVote, DigestVote.user_id),
        # The reading list of the user's private chat (its chat id is the user's id); a group's list is the group's.
        ("digest_reading_list", ReadingListEntry, ReadingListEntry.chat_id),
    ):
        result = await session.execute(delete(model).where(column == user_id))
        counts[name] = int(getattr(result, "rowcount", 0) or 0)
    return counts


async def private_topics(session: AsyncSession, user_id: int) -> set[str]:
    """The topics of the user's private chat's subscriptions."""
    rows = (await session.scalars(select(Subscription.topics).where(Subscription.chat_id == user_id))).all()
    return {str(topic) for topics in rows for topic in (topics or [])}


async def other_topics(session: AsyncSession, user_id: int) -> set[str]:
    """The topics of every other chat's subscriptions (a topic a group shares stays the group's)."""
    rows = (await session.scalars(select(Subscription.topics).where(Subscription.chat_id != user_id))).all()
    return {str(topic).casefold() for topics in rows for topic in (topics or [])}


async def forget_source_topics(session: AsyncSession, topics: set[str]) -> int:
    """arXiv sources whose query or name names one of `topics`: deactivated and renamed (their items stay; the
    next source refresh builds a query from the remaining subscriptions). Returns how many."""
    folded = [topic.casefold() for topic in topics if topic.strip()]
    if not folded:
        return 0
    changed = 0
    for source in (await session.scalars(select(DigestSource).where(DigestSource.kind == "arxiv"))).all():
        text = f"{source.locator} {source.name}".casefold()
        if any(topic in text for topic in folded):
            source.locator, source.name, source.active = f"forgotten:{source.id}", "arXiv (removed topics)", False
            changed += 1
    await session.flush()
    return changed


async def redact_payloads(session: AsyncSession, table: Table, update_ids: Sequence[int]) -> None:
    """Raw updates still to be processed (or in flight: the /forget confirmation itself) keep only their id."""
    for update_id in update_ids:
        await session.execute(update(table).where(table.c.update_id == update_id)
                              .values(payload={"update_id": update_id}))


async def drop_private_subscriptions(session: AsyncSession, user_id: int) -> list[int]:
    """Subscriptions of the user's private chat: deleted with their issues and deliveries. Returns their ids."""
    ids = list((await session.scalars(select(Subscription.id).where(Subscription.chat_id == user_id))).all())
    if ids:
        issue_ids = select(DigestIssue.id).where(DigestIssue.subscription_id.in_(ids))
        await session.execute(delete(DigestVote).where(DigestVote.issue_id.in_(issue_ids)))
        await session.execute(delete(Delivery).where(Delivery.issue_id.in_(issue_ids)))
        await session.execute(delete(DigestIssue).where(DigestIssue.subscription_id.in_(ids)))
        await session.execute(delete(Subscription).where(Subscription.id.in_(ids)))
    # Deliveries of other subscriptions' issues to this private chat (none today; cheap to make sure).
    await session.execute(delete(Delivery).where(Delivery.chat_id == user_id))
    return ids


async def anonymise_group_subscriptions(session: AsyncSession, user_id: int) -> int:
    """A group's subscription the user created stays the group's; only the creator is forgotten."""
    result = await session.execute(update(Subscription).where(Subscription.created_by == user_id)
                                   .values(created_by=None))
    return int(getattr(result, "rowcount", 0) or 0)


async def issues_with_papers(session: AsyncSession, paper_ids: Sequence[int]) -> Sequence[DigestIssue]:
    if not paper_ids:
        return []
    issues = (await session.scalars(select(DigestIssue))).all()
    wanted = set(paper_ids)
    return [issue for issue in issues if wanted & set(issue.papers or [])]


async def papers(session: AsyncSession, paper_ids: Sequence[int]) -> Sequence[Paper]:
    if not paper_ids:
        return []
    return (await session.scalars(select(Paper).where(Paper.id.in_(list(paper_ids))))).all()


async def delete_rows(session: AsyncSession, rows: Sequence[Base]) -> None:
    for row in rows:
        await session.delete(row)
    await session.flush()


async def delete_user(session: AsyncSession, user_id: int) -> None:
    chat = await private_chat(session, user_id)
    if chat is not None:
        await session.execute(update(HistoryEntry).where(HistoryEntry.chat_id == user_id).values(chat_id=None))
        await session.execute(delete(Chat).where(Chat.id == user_id))
    await session.execute(delete(User).where(User.id == user_id))


def _history_filter(user_id: int, chat_id: int | None) -> list[Any]:
    conditions = [HistoryEntry.user_id == user_id]
    if chat_id is not None:
        conditions.append(HistoryEntry.chat_id == chat_id)
    return conditions


async def history_rows(session: AsyncSession, user_id: int, chat_id: int | None, *, offset: int = 0,
                       limit: int | None = None) -> Sequence[HistoryEntry]:
    """The user's history, newest first; with `chat_id`, only what they ran in that chat."""
    query = (select(HistoryEntry).where(*_history_filter(user_id, chat_id))
             .order_by(HistoryEntry.created_at.desc(), HistoryEntry.id.desc()).offset(offset))
    if limit is not None:
        query = query.limit(limit)
    return (await session.scalars(query)).all()


async def count_history(session: AsyncSession, user_id: int, chat_id: int | None) -> int:
    from sqlalchemy import func

    return int(await session.scalar(select(func.count()).select_from(HistoryEntry)
                                    .where(*_history_filter(user_id, chat_id))) or 0)


async def table_rows(session: AsyncSession, table: Table, column: str, value: int) -> list[dict[str, Any]]:
    """Rows of a table looked up by name (another feature's, e.g. "jobs") whose `column` equals `value`."""
    result = await session.execute(select(table).where(table.c[column] == value))
    return [dict(row._mapping) for row in result.all()]


async def delete_where_in(session: AsyncSession, table: Table, column: str, values: Sequence[Any]) -> None:
    """Delete the rows of a table looked up by name whose `column` is one of `values`."""
    await session.execute(delete(table).where(table.c[column].in_(list(values))))


async def delete_where_equal(session: AsyncSession, table: Table, column: str, value: int) -> int:
    """Delete the rows of a table looked up by name whose `column` equals `value`. Returns how many."""
    result = await session.execute(delete(table).where(table.c[column] == value))
    return int(getattr(result, "rowcount", 0) or 0)
