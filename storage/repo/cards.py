"""SQL of the paper card (/paper, link cards, inline mode): papers by title words, the stored posts about a paper
with their sources, the latest stored /leak result for a concept and prompt, and a chat's link-card switch
(one key of `chats.settings`, JSON: no migration)."""
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.schema.core import Chat
from storage.schema.digest import DigestIssue, DigestItem, DigestSource, Paper, Subscription
from storage.schema.leak import LeakResult


async def papers_with_title_words(session: AsyncSession, words: list[str], limit: int = 20) -> list[Paper]:
    """Papers whose title contains every word (case-insensitive), newest first."""
    query = select(Paper)
    for word in words:
        query = query.where(func.lower(Paper.title).contains(word.lower(), autoescape=True))
    return list((await session.scalars(query.order_by(Paper.first_seen_at.desc()).limit(limit))).all())


async def posts_of_paper(session: AsyncSession, paper_id: int, limit: int = 50
                         ) -> list[tuple[DigestItem, DigestSource]]:
    rows = (await session.execute(
        select(DigestItem, DigestSource).join(DigestSource, DigestSource.id == DigestItem.source_id)
        .where(DigestItem.paper_id == paper_id).order_by(DigestItem.published_at).limit(limit))).all()
    return [(item, src) for item, src in rows]


async def latest_leak_result(session: AsyncSession, concept: str, test: str) -> LeakResult | None:
    return (await session.scalars(select(LeakResult).where(LeakResult.concept == concept, LeakResult.test == test)
                                  .order_by(LeakResult.created_at.desc()).limit(1))).first()


async def chat_setting(session: AsyncSession, chat_id: int, key: str) -> Any:
    values = (await session.scalars(select(Chat.settings).where(Chat.id == chat_id))).first()
    return (values or {}).get(key)


async def set_chat_setting(session: AsyncSession, chat_id: int, key: str, value: Any) -> None:
    """One key of the chat's JSON settings (the column is replaced whole: JSON is not change-tracked in place)."""
    values = (await session.scalars(select(Chat.settings).where(Chat.id == chat_id))).first()
    await session.execute(update(Chat).where(Chat.id == chat_id).values(settings={**(values or {}), key: value})
                          .execution_options(synchronize_session=False))


async def issue_position(session: AsyncSession, chat_id: int, paper_id: int, recent: int = 60
                         ) -> tuple[int, int] | None:
    """(issue id, 1-based position) of the chat's latest issue that carried the paper (its digest vote's place)."""
    rows = (await session.execute(
        select(DigestIssue.id, DigestIssue.papers).join(Subscription, Subscription.id == DigestIssue.subscription_id)
        .where(Subscription.chat_id == chat_id).order_by(DigestIssue.id.desc()).limit(recent))).all()
    for issue_id, papers in rows:
        if paper_id in (papers or []):
            return issue_id, list(papers).index(paper_id) + 1
    return None
