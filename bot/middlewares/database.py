"""One database session per update and one transaction around its handler: committed on success, rolled back
when the handler raises (the error handler then records the failure in a transaction of its own)."""
from aiogram import BaseMiddleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class DatabaseMiddleware(BaseMiddleware):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        self.sessionmaker = sessionmaker

    async def __call__(self, handler, event, data):
        # The session connects lazily: an update that touches no table costs no connection.
        async with self.sessionmaker() as session:
            async with session.begin():
                data["session"] = session
                return await handler(event, data)
