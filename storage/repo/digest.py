"""Digest repositories: items, papers, subscriptions, issues and deliveries."""
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.schema.base import utcnow
from storage.schema.digest import Delivery, DigestIssue, DigestItem, DigestSource, Paper, Subscription


def _insert(session: AsyncSession):
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


async def insert_items(session: AsyncSession, src: DigestSource, rows: list[dict]) -> int:
    if not rows:
        return 0
    statement = _insert(session)(DigestItem.__table__).values(rows).on_conflict_do_nothing(
        index_elements=["source_id", "external_id"])
    result = await session.execute(statement)
    return max(result.rowcount or 0, 0)


async def items_since(session: AsyncSession, since: datetime) -> list[DigestItem]:
    return list((await session.scalars(select(DigestItem).where(DigestItem.published_at >= since)
                                       .order_by(DigestItem.published_at))).all())


async def paper_by_key(session: AsyncSession, key: str) -> Paper | None:
    return (await session.scalars(select(Paper).where(Paper.key == key))).first()


async def active_subscriptions(session: AsyncSession) -> list[Subscription]:
    return list((await session.scalars(select(Subscription).where(Subscription.active.is_(True)))).all())


async def chat_subscriptions(session: AsyncSession, chat_id: int) -> list[Subscription]:
    return list((await session.scalars(select(Subscription).where(Subscription.chat_id == chat_id,
                                                                  Subscription.active.is_(True))
                                       .order_by(Subscription.id))).all())


async def issue_for(session: AsyncSession, subscription_id: int, period: str) -> DigestIssue | None:
    return (await session.scalars(select(DigestIssue).where(DigestIssue.subscription_id == subscription_id,
                                                            DigestIssue.period == period))).first()


async def ensure_deliveries(session: AsyncSession, issue_id: int, chat_ids: list[int]) -> None:
    rows = [dict(issue_id=issue_id, chat_id=chat_id, state="pending", attempts=0, message_ids=[],
                 updated_at=utcnow(), extra={}) for chat_id in chat_ids]
    if rows:
        await session.execute(_insert(session)(Delivery.__table__).values(rows).on_conflict_do_nothing(
            index_elements=["issue_id", "chat_id"]))


async def set_delivery(session: AsyncSession, delivery_id: int, **values) -> None:
    await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(updated_at=utcnow(), **values))
