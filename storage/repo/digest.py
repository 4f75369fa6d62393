"""Digest repositories: sources, items, papers, subscriptions, issues, and the deliveries' state machine.

The broadcaster (digests/broadcast.py) moves each delivery row through its states with the functions at the end of
this module, every one a single statement its caller commits on its own: `claim_delivery` (pending → sending, the
at-most-once guard), `set_delivery` (the answer), `settle_if_sending` (recovery of a crashed broadcaster's rows),
`block_inactive_deliveries` / `block_deliveries` (chats that blocked the bot)."""
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.repo.upsert import upsert
from storage.schema.base import utcnow
from storage.schema.core import Chat
from storage.schema.digest import Delivery, DigestIssue, DigestItem, DigestSource, Paper, Subscription

INACTIVE_CHAT = "chat inactive (the bot was blocked or removed)"


def _insert(session: AsyncSession) -> Callable[..., Any]:
    bind = session.bind
    return postgresql.insert if bind is not None and bind.dialect.name == "postgresql" else sqlite.insert


# ---------- sources and items ----------
async def ensure_source(session: AsyncSession, kind: str, locator: str, name: str) -> DigestSource:
    """The source (kind, locator), created or reactivated, its name updated."""
    await upsert(session, DigestSource.__table__, dict(kind=kind, locator=locator, name=name, active=True,
                                                        failures=0, items_total=0),
                 key=("kind", "locator"), update=["name", "active"])
    return (await session.scalars(select(DigestSource).where(DigestSource.kind == kind,
                                                             DigestSource.locator == locator))).one()


async def get_source(session: AsyncSession, source_id: int) -> DigestSource | None:
    return await session.get(DigestSource, source_id)


async def all_sources(session: AsyncSession) -> list[DigestSource]:
    """Every source, by kind, for the /sources health list."""
    return list((await session.scalars(select(DigestSource).order_by(DigestSource.kind, DigestSource.id))).all())


async def fetchable_source_ids(session: AsyncSession) -> list[int]:
    """Active sources the fetch job polls (arXiv queries and feeds; channels and /submit arrive by themselves)."""
    return list((await session.scalars(select(DigestSource.id).where(
        DigestSource.active.is_(True), DigestSource.kind.in_(("arxiv", "feed"))))).all())


async def deactivate_arxiv_sources_except(session: AsyncSession, locators: Sequence[str]) -> int:
    """arXiv queries no longer wanted (topics changed) stop being fetched; their items stay."""
    stale = (await session.scalars(select(DigestSource).where(
        DigestSource.kind == "arxiv", DigestSource.active.is_(True),
        DigestSource.locator.not_in(list(locators) or [""])))).all()
    for source in stale:
        source.active = False
    return len(stale)


async def insert_items(session: AsyncSession, src: DigestSource, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    statement = _insert(session)(DigestItem.__table__).values(rows).on_conflict_do_nothing(
        index_elements=["source_id", "external_id"])
    result = await session.execute(statement)
    return max(getattr(result, "rowcount", 0) or 0, 0)


async def unassigned_items(session: AsyncSession, since: datetime) -> list[tuple[DigestItem, str]]:
    """Items of the window that belong to no paper yet, oldest first, with their source's kind."""
    rows = (await session.execute(
        select(DigestItem, DigestSource.kind).join(DigestSource, DigestSource.id == DigestItem.source_id)
        .where(DigestItem.paper_id.is_(None), DigestItem.published_at >= since)
        .order_by(DigestItem.published_at, DigestItem.id))).all()
    return [(item, kind) for item, kind in rows]


# ---------- papers ----------
async def paper_by_key(session: AsyncSession, key: str) -> Paper | None:
    return (await session.scalars(select(Paper).where(Paper.key == key))).first()


async def papers_since(session: AsyncSession, since: datetime) -> list[Paper]:
    return list((await session.scalars(select(Paper).where(Paper.first_seen_at >= since))).all())


async def add_paper(session: AsyncSession, **values: Any) -> Paper:
    paper = Paper(**values)
    session.add(paper)
    await session.flush()
    return paper


async def sent_paper_ids(session: AsyncSession, subscription_id: int) -> set[int]:
    """Papers any earlier issue of the subscription carried."""
    sent: set[int] = set()
    for papers in (await session.scalars(select(DigestIssue.papers)
                                         .where(DigestIssue.subscription_id == subscription_id))).all():
        sent.update(papers or [])
    return sent


async def paper_posts(session: AsyncSession, since: datetime, until: datetime
                      ) -> list[tuple[Paper, DigestItem, DigestSource]]:
    """(paper, item, source) for every item published or stored in [since, until] that belongs to a paper (an arXiv
    entry is dated by its submission, which can be days before it is announced and fetched)."""
    rows = (await session.execute(
        select(Paper, DigestItem, DigestSource).join(DigestItem, DigestItem.paper_id == Paper.id)
        .join(DigestSource, DigestSource.id == DigestItem.source_id)
        .where(or_(and_(DigestItem.published_at >= since, DigestItem.published_at <= until),
                   and_(DigestItem.created_at >= since, DigestItem.created_at <= until)))
        .order_by(Paper.id, DigestItem.published_at))).all()
    return [(paper, item, source) for paper, item, source in rows]


# ---------- subscriptions ----------
async def get_subscription(session: AsyncSession, subscription_id: int) -> Subscription | None:
    return await session.get(Subscription, subscription_id)


async def add_subscription(session: AsyncSession, **values: Any) -> Subscription:
    subscription = Subscription(**values)
    session.add(subscription)
    await session.flush()
    return subscription


async def active_subscriptions(session: AsyncSession) -> list[Subscription]:
    return list((await session.scalars(select(Subscription).where(Subscription.active.is_(True)))).all())


async def active_topics(session: AsyncSession) -> list[list[str]]:
    """The topic lists of every active subscription."""
    return [list(topics or []) for topics in (await session.scalars(select(Subscription.topics).where(
        Subscription.active.is_(True)))).all()]


async def chat_subscriptions(session: AsyncSession, chat_id: int) -> list[Subscription]:
    return list((await session.scalars(select(Subscription).where(Subscription.chat_id == chat_id,
                                                                  Subscription.active.is_(True))
                                       .order_by(Subscription.id))).all())


async def deactivate_subscriptions(session: AsyncSession, subscription_ids: Sequence[int]) -> None:
    await session.execute(update(Subscription).where(Subscription.id.in_(list(subscription_ids)))
                          .values(active=False).execution_options(synchronize_session="fetch"))


# ---------- issues ----------
async def issue_for(session: AsyncSession, subscription_id: int, period: str) -> DigestIssue | None:
    return (await session.scalars(select(DigestIssue).where(DigestIssue.subscription_id == subscription_id,
                                                            DigestIssue.period == period))).first()


async def add_issue(session: AsyncSession, *, subscription_id: int | None, period: str, papers: list[int],
                    text: str) -> DigestIssue:
    """Raises IntegrityError when the slot's issue exists already (another run made it first)."""
    issue = DigestIssue(subscription_id=subscription_id, period=period, papers=papers, text=text,
                        created_at=utcnow())
    session.add(issue)
    await session.flush()
    return issue


# ---------- deliveries: the broadcaster's state machine ----------
@dataclass(frozen=True)
class PendingDelivery:
    id: int
    issue_id: int
    chat_id: int
    chat_type: str | None  # None when the chat is not in the chats table


@dataclass(frozen=True)
class StrandedDelivery:
    id: int
    message_ids: list[int]
    extra: dict[str, Any]
    text: str


def _issues(issue_ids: Sequence[int] | None) -> list[ColumnElement[bool]]:
    return [] if issue_ids is None else [Delivery.issue_id.in_(list(issue_ids))]


async def ensure_deliveries(session: AsyncSession, issue_id: int, chat_ids: list[int]) -> None:
    rows = [dict(issue_id=issue_id, chat_id=chat_id, state="pending", attempts=0, message_ids=[],
                 updated_at=utcnow(), extra={}) for chat_id in chat_ids]
    if rows:
        await session.execute(_insert(session)(Delivery.__table__).values(rows).on_conflict_do_nothing(
            index_elements=["issue_id", "chat_id"]))


async def delivery_states(session: AsyncSession) -> dict[str, int]:
    """How many deliveries are in each state."""
    rows = (await session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))).all()
    return {state: count for state, count in rows}


async def set_delivery(session: AsyncSession, delivery_id: int, **values: Any) -> None:
    await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(updated_at=utcnow(), **values))


async def stranded_deliveries(session: AsyncSession) -> list[StrandedDelivery]:
    """Rows left `sending` (a broadcaster died mid-request, or another one is sending right now)."""
    rows = (await session.execute(
        select(Delivery.id, Delivery.message_ids, Delivery.extra, DigestIssue.text)
        .join(DigestIssue, DigestIssue.id == Delivery.issue_id)
        .where(Delivery.state == "sending"))).all()
    return [StrandedDelivery(id, list(message_ids or []), dict(extra or {}), text or "")
            for id, message_ids, extra, text in rows]


async def settle_if_sending(session: AsyncSession, delivery_id: int, **values: Any) -> int:
    """Guarded: the live process that claimed the row may have recorded the answer meanwhile. Returns 1 when the
    row was still `sending` and is now settled, else 0."""
    result = await session.execute(
        update(Delivery).where(Delivery.id == delivery_id, Delivery.state == "sending")
        .values(updated_at=utcnow(), **values).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def block_inactive_deliveries(session: AsyncSession, issue_ids: Sequence[int] | None) -> int:
    """Pending rows (of these issues) whose chat is marked inactive become `blocked`, without a call."""
    inactive = select(Chat.id).where(Chat.active.is_(False))
    result = await session.execute(
        update(Delivery)
        .where(Delivery.state == "pending", Delivery.chat_id.in_(inactive), *_issues(issue_ids))
        .values(state="blocked", error=INACTIVE_CHAT, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


async def block_deliveries(session: AsyncSession, delivery_ids: Sequence[int]) -> int:
    """The still-pending rows among these become `blocked` (their chat blocked the bot during the run)."""
    result = await session.execute(
        update(Delivery).where(Delivery.id.in_(list(delivery_ids)), Delivery.state == "pending")
        .values(state="blocked", error=INACTIVE_CHAT, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


async def pending_deliveries(session: AsyncSession, issue_ids: Sequence[int] | None
                             ) -> tuple[list[PendingDelivery], dict[int, str]]:
    """Pending rows (of these issues) by chat, issue and id, with each chat's type; and the text of each issue
    they belong to."""
    pending = [Delivery.state == "pending", *_issues(issue_ids)]
    rows = (await session.execute(
        select(Delivery.id, Delivery.issue_id, Delivery.chat_id, Chat.type)
        .outerjoin(Chat, Chat.id == Delivery.chat_id)
        .where(*pending)
        .order_by(Delivery.chat_id, Delivery.issue_id, Delivery.id))).all()
    texts = (await session.execute(
        select(DigestIssue.id, DigestIssue.text)
        .where(DigestIssue.id.in_(select(Delivery.issue_id).where(*pending))))).all()
    return ([PendingDelivery(id, issue_id, chat_id, chat_type) for id, issue_id, chat_id, chat_type in rows],
            {issue_id: text or "" for issue_id, text in texts})


async def claim_delivery(session: AsyncSession, delivery_id: int, parts: int) -> list[int] | None:
    """pending → sending (attempts + 1). Returns the ids of the parts already sent, or None when the row was not
    pending any more (another broadcaster claimed it first). Records the part count in `extra`."""
    claimed = await session.execute(
        update(Delivery).where(Delivery.id == delivery_id, Delivery.state == "pending")
        .values(state="sending", attempts=Delivery.attempts + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if int(getattr(claimed, "rowcount", 0) or 0) != 1:
        return None
    # Read inside the claiming transaction: another process may have sent parts since the rows were loaded.
    message_ids, extra = (await session.execute(
        select(Delivery.message_ids, Delivery.extra).where(Delivery.id == delivery_id))).one()
    if (extra or {}).get("parts") != parts:
        await session.execute(update(Delivery).where(Delivery.id == delivery_id)
                              .values(extra={**(extra or {}), "parts": parts})
                              .execution_options(synchronize_session=False))
    return list(message_ids or [])
