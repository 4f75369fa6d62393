"""Services with the real database (migrated to heads, SQLite and PostgreSQL where reachable), without Telegram."""
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import create_sessionmaker
from storage.repo.core import upsert_chat, upsert_user


@pytest.fixture
def sessionmaker(migrated_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(migrated_engine)


@pytest.fixture
async def people(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    """User 1 in their private chat 1, and group -100 (the rows the context middleware would have written)."""
    async with sessionmaker() as session, session.begin():
        await upsert_user(session, user_id=1, first_name="Ada", last_name=None, username=None, telegram_language="en")
        await upsert_chat(session, chat_id=1, type="private", title=None)
        await upsert_chat(session, chat_id=-100, type="supergroup", title="ML chat")
    yield
