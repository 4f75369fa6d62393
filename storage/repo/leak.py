"""Leak results: saved per run, read back for "show all samples"."""
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.schema.leak import LeakResult


async def save_leak_result(session: AsyncSession, **values: Any) -> LeakResult:
    result = LeakResult(**values)
    session.add(result)
    await session.flush()
    return result


async def get_leak_result(session: AsyncSession, result_id: int) -> LeakResult | None:
    return await session.get(LeakResult, result_id)
