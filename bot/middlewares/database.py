"""One database session per update and one transaction around its handler: committed on success, rolled back
when the handler raises (the error handler then records the failure in a transaction of its own).

Updates that come from the durable inbox (bot/transports/inbox.py) carry a `finish_update` hook: it marks the update
done inside this same transaction, so the handler's writes and "done" commit together or not at all."""
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repo.inbox import NotClaimed

log = logging.getLogger(__name__)


class DatabaseMiddleware(BaseMiddleware):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        finish = data.get("finish_update")
        # The session connects lazily: an update that touches no table costs no connection.
        async with self.sessionmaker() as session:
            data["session"] = session
            try:
                async with session.begin() as transaction:
                    result = await handler(event, data)
                    if finish is not None and transaction.is_active:
                        await finish(session)
                        finish = None
                if finish is not None:  # the handler committed its transaction itself: the mark gets its own
                    async with session.begin():
                        await finish(session)
            except NotClaimed:
                # Our lease ran out and another process took the update: its run is the one that counts.
                log.warning("update %s was taken over by another process; this run was rolled back",
                            getattr(event, "update_id", "?"))
                return None
            return result
