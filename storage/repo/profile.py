"""SQL of a chat's interest profile: the votes cast in the chat, its reading list, cached paper embeddings, and the
ranking reasons stored with each issue."""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.repo.digest import _insert
from storage.repo.upsert import upsert
from storage.schema.base import utcnow
from storage.schema.digest import DigestIssue, Paper, Subscription
from storage.schema.groups import DigestVote
from storage.schema.profile import IssueRanking, PaperEmbedding, ReadingListEntry


@dataclass(frozen=True)
class VoteSignal:
    paper_id: int
    net: int  # 👍 minus 👎 of the chat's readers on the paper
    last_at: datetime


@dataclass(frozen=True)
class RankedPaper:
    issue_id: int
    period: str
    subscription_id: int | None
    position: int
    paper_id: int
    title: str
    score: float
    reasons: list[dict[str, Any]]


async def vote_signals(session: AsyncSession, chat_id: int) -> list[VoteSignal]:
    """Net votes per paper cast in the chat, with the time of the latest."""
    rows = (await session.execute(
        select(DigestVote.paper_id, func.sum(DigestVote.value), func.max(DigestVote.created_at))
        .where(DigestVote.chat_id == chat_id).group_by(DigestVote.paper_id))).all()
    return [VoteSignal(paper_id, int(net or 0), last_at) for paper_id, net, last_at in rows]


async def reading_list(session: AsyncSession, chat_id: int) -> list[ReadingListEntry]:
    return list((await session.scalars(select(ReadingListEntry).where(ReadingListEntry.chat_id == chat_id)
                                       .order_by(ReadingListEntry.id))).all())


async def add_to_reading_list(session: AsyncSession, chat_id: int, entries: Sequence[tuple[str, int | None]],
                              origin: str) -> list[str]:
    """Adds (arXiv id, paper id or None) rows; returns the ids that were new (an id already listed is kept as is)."""
    if not entries:
        return []
    known = set((await session.scalars(select(ReadingListEntry.arxiv_id).where(
        ReadingListEntry.chat_id == chat_id, ReadingListEntry.arxiv_id.in_([a for a, _ in entries])))).all())
    new = {arxiv_id: paper_id for arxiv_id, paper_id in entries if arxiv_id not in known}
    rows = [dict(chat_id=chat_id, arxiv_id=arxiv_id, paper_id=paper_id, origin=origin, created_at=utcnow())
            for arxiv_id, paper_id in new.items()]
    if rows:
        await session.execute(_insert(session)(ReadingListEntry.__table__).values(rows).on_conflict_do_nothing(
            index_elements=["chat_id", "arxiv_id"]))
    return list(new)


async def link_reading_list(session: AsyncSession, arxiv_id: str, paper_id: int) -> int:
    """Entries waiting for this paper's metadata get it (every chat that listed it)."""
    result = await session.execute(
        update(ReadingListEntry).where(ReadingListEntry.arxiv_id == arxiv_id, ReadingListEntry.paper_id.is_(None))
        .values(paper_id=paper_id).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def pending_reading_ids(session: AsyncSession, chat_id: int | None = None) -> list[str]:
    """arXiv ids listed (by this chat, or any) whose paper is not known yet."""
    query = select(ReadingListEntry.arxiv_id).where(ReadingListEntry.paper_id.is_(None))
    if chat_id is not None:
        query = query.where(ReadingListEntry.chat_id == chat_id)
    return list(dict.fromkeys((await session.scalars(query.order_by(ReadingListEntry.id))).all()))


async def papers_by_id(session: AsyncSession, paper_ids: Sequence[int]) -> dict[int, Paper]:
    if not paper_ids:
        return {}
    rows = (await session.scalars(select(Paper).where(Paper.id.in_(list(paper_ids))))).all()
    return {paper.id: paper for paper in rows}


async def papers_by_key(session: AsyncSession, keys: Sequence[str]) -> dict[str, Paper]:
    if not keys:
        return {}
    rows = (await session.scalars(select(Paper).where(Paper.key.in_(list(keys))))).all()
    return {paper.key: paper for paper in rows}


async def embeddings(session: AsyncSession, paper_ids: Sequence[int], model: str) -> dict[int, tuple[str, bytes]]:
    """paper id → (text hash, float32 bytes) of the cached vectors."""
    if not paper_ids:
        return {}
    rows = (await session.execute(select(PaperEmbedding.paper_id, PaperEmbedding.text_hash, PaperEmbedding.vector)
                                  .where(PaperEmbedding.model == model,
                                         PaperEmbedding.paper_id.in_(list(paper_ids))))).all()
    return {paper_id: (text_hash, bytes(vector)) for paper_id, text_hash, vector in rows}


async def store_embedding(session: AsyncSession, paper_id: int, model: str, text_hash: str, vector: bytes) -> None:
    await upsert(session, PaperEmbedding.__table__, dict(paper_id=paper_id, model=model, text_hash=text_hash,
                                                         vector=vector, created_at=utcnow()),
                 key=("paper_id", "model"), update=["text_hash", "vector", "created_at"])


async def save_rankings(session: AsyncSession, issue_id: int, rows: Sequence[tuple[int, float, list[Any]]]) -> None:
    """(paper id, score, reasons) in issue order."""
    values = [dict(issue_id=issue_id, paper_id=paper_id, position=position, score=float(score), reasons=reasons)
              for position, (paper_id, score, reasons) in enumerate(rows, 1)]
    if values:
        await session.execute(_insert(session)(IssueRanking.__table__).values(values).on_conflict_do_nothing(
            index_elements=["issue_id", "paper_id"]))


async def chat_rankings(session: AsyncSession, chat_id: int, *, issues: int = 1) -> list[RankedPaper]:
    """The ranked papers of the chat's latest `issues` issues (newest first, each in its order)."""
    latest = (select(DigestIssue.id).join(Subscription, Subscription.id == DigestIssue.subscription_id)
              .where(Subscription.chat_id == chat_id).order_by(DigestIssue.id.desc()).limit(issues))
    rows = (await session.execute(
        select(IssueRanking, DigestIssue.period, DigestIssue.subscription_id, Paper.title)
        .join(DigestIssue, DigestIssue.id == IssueRanking.issue_id).join(Paper, Paper.id == IssueRanking.paper_id)
        .where(IssueRanking.issue_id.in_(latest))
        .order_by(IssueRanking.issue_id.desc(), IssueRanking.position))).all()
    return [RankedPaper(r.issue_id, period, subscription_id, r.position, r.paper_id, title, r.score,
                        list(r.reasons or [])) for r, period, subscription_id, title in rows]
