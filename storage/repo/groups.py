"""SQL of the group features: where a digest issue is delivered (its forum topic), readers' votes on its papers."""
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.repo.upsert import upsert
from storage.schema.base import utcnow
from storage.schema.digest import DigestIssue, Paper, Subscription
from storage.schema.groups import DigestVote


@dataclass(frozen=True)
class IssueMeta:
    subscription_id: int | None
    papers: int
    thread_id: int | None  # the forum topic chosen at /subscribe; None: General
    language: str


async def issue_meta(session: AsyncSession, issue_ids: Sequence[int]) -> dict[int, IssueMeta]:
    if not issue_ids:
        return {}
    rows = (await session.execute(
        select(DigestIssue.id, DigestIssue.subscription_id, DigestIssue.papers, Subscription.thread_id,
               Subscription.language)
        .outerjoin(Subscription, Subscription.id == DigestIssue.subscription_id)
        .where(DigestIssue.id.in_(list(issue_ids))))).all()
    return {issue_id: IssueMeta(subscription_id, len(papers or []), thread_id, language or "en")
            for issue_id, subscription_id, papers, thread_id, language in rows}


async def vote_on_paper(session: AsyncSession, *, issue_id: int, position: int, user_id: int, chat_id: int | None,
                        value: int) -> tuple[int, int] | None:
    """Record (or change) a reader's vote on the issue's paper at `position` (1-based); (up, down) for that paper in
    this issue, or None when the issue or the position is gone."""
    issue = await session.get(DigestIssue, issue_id)
    papers = list(issue.papers or []) if issue is not None else []
    if not 1 <= position <= len(papers):
        return None
    paper_id = papers[position - 1]
    await upsert(session, DigestVote.__table__, dict(issue_id=issue_id, paper_id=paper_id, user_id=user_id,
                                                     chat_id=chat_id, value=value, created_at=utcnow()),
                 key=("issue_id", "paper_id", "user_id"), update=["value", "created_at", "chat_id"])
    up = func.sum(case((DigestVote.value > 0, 1), else_=0))
    down = func.sum(case((DigestVote.value < 0, 1), else_=0))
    row = (await session.execute(select(up, down).where(DigestVote.issue_id == issue_id,
                                                        DigestVote.paper_id == paper_id))).one()
    return int(row[0] or 0), int(row[1] or 0)


async def top_voted_papers(session: AsyncSession, limit: int = 5) -> list[tuple[str, int, int]]:
    """(title, up, down) of the papers readers voted on most, for /sources."""
    up = func.sum(case((DigestVote.value > 0, 1), else_=0))
    down = func.sum(case((DigestVote.value < 0, 1), else_=0))
    rows = (await session.execute(
        select(Paper.title, up, down).join(DigestVote, DigestVote.paper_id == Paper.id)
        .group_by(Paper.id, Paper.title).order_by(func.count().desc(), Paper.id).limit(limit))).all()
    return [(title, int(u or 0), int(d or 0)) for title, u, d in rows]
