"""FLUX generations, votes (one per user per image), daily usage and per-suite statistics."""
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.repo.upsert import upsert
from storage.schema.base import utcnow
from storage.schema.flux import FluxGeneration, FluxVote


async def add_generation(session: AsyncSession, **values: Any) -> FluxGeneration:
    generation = FluxGeneration(**values)
    session.add(generation)
    await session.flush()
    return generation


async def get_generation(session: AsyncSession, generation_id: int) -> FluxGeneration | None:
    return await session.get(FluxGeneration, generation_id)


async def set_file_ids(session: AsyncSession, file_ids: Sequence[tuple[int, str | None]]) -> None:
    """Telegram's file id of each sent image (generation id, file id), to resend without uploading again."""
    for generation_id, file_id in file_ids:
        await session.execute(update(FluxGeneration).where(FluxGeneration.id == generation_id)
                              .values(file_id=file_id).execution_options(synchronize_session="fetch"))


async def images_today(session: AsyncSession, *, user_id: int | None = None, chat_id: int | None = None) -> int:
    """Successful images since 00:00 UTC (what the daily cost guard counts)."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    query = select(func.count()).select_from(FluxGeneration).where(FluxGeneration.status == "ok",
                                                                   FluxGeneration.created_at >= midnight)
    if user_id is not None:
        query = query.where(FluxGeneration.user_id == user_id)
    if chat_id is not None:
        query = query.where(FluxGeneration.chat_id == chat_id)
    return await session.scalar(query) or 0


async def vote(session: AsyncSession, generation_id: int, user_id: int, value: int) -> tuple[int, int]:
    """Record (or change) the user's vote; returns (up, down) for the image."""
    await upsert(session, FluxVote.__table__, dict(generation_id=generation_id, user_id=user_id, value=value,
                                                   created_at=utcnow()),
                 key=("generation_id", "user_id"), update=["value", "created_at"])
    return await tally(session, generation_id)


async def tally(session: AsyncSession, generation_id: int) -> tuple[int, int]:
    up = func.sum(case((FluxVote.value > 0, 1), else_=0))
    down = func.sum(case((FluxVote.value < 0, 1), else_=0))
    row = (await session.execute(select(up, down).where(FluxVote.generation_id == generation_id))).one()
    return int(row[0] or 0), int(row[1] or 0)


async def suite_stats(session: AsyncSession) -> list[tuple[str, str, float | None, float | None, int]]:
    """(suite, model, mean OCR score, share of 👍 among votes, images) per suite and model."""
    up = func.sum(case((FluxVote.value > 0, 1), else_=0))
    votes = func.count(FluxVote.id)
    # A literal, not a bound parameter: PostgreSQL matches GROUP BY expressions by their text, and three bound
    # "flux" parameters ($1, $6, $7) are three different expressions to it.
    suite = func.coalesce(FluxGeneration.suite, literal_column("'flux'"))
    query = (select(suite, FluxGeneration.model,
                    func.avg(FluxGeneration.score), up, votes, func.count(func.distinct(FluxGeneration.id)))
             .outerjoin(FluxVote, FluxVote.generation_id == FluxGeneration.id)
             .where(FluxGeneration.status == "ok")
             .group_by(suite, FluxGeneration.model)
             .order_by(suite, FluxGeneration.model))
    return [(suite, model, score, (int(ups) / total) if total else None, count)
            for suite, model, score, ups, total, count in (await session.execute(query)).all()]
