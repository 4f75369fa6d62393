"""One database session per update, in short transactions: whatever the handler wrote last is committed when it
returns, rolled back when it raises (the error handler then records the failure in a transaction of its own).

The session begins a transaction at its first statement (autobegin); services commit before slow work with
`storage.db.released`, so no connection is held while a model or an API works (docs/architecture.md,
"Transactions"). Inbox updates carry `finish_update` (marks the update done inside the handler's last transaction:
its final writes and "done" commit together) and `transient_failure` (a failure it accepts, the database or the
Bot API briefly away, is rolled back here and run again by the inbox: no error row, no apology)."""
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
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
        transient: Callable[[BaseException], bool] | None = data.get("transient_failure")
        try:
            return await self._run(handler, event, data, finish)
        except Exception as error:
            if transient is not None and transient(error):
                return UNHANDLED  # rolled back (the session is closed); the inbox runs the update again
            raise

    async def _run(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                   event: TelegramObject, data: dict[str, Any],
                   finish: Callable[[AsyncSession], Awaitable[None]] | None) -> Any:
        # The session connects lazily: an update that touches no table costs no connection. Leaving the block
        # closes it, which rolls back whatever a failed handler left uncommitted.
        async with self.sessionmaker() as session:
            data["session"] = session
            if (hold := data.get("hold_session")) is not None:
                hold(session)  # the inbox's lease check before a send may run in it (SQLite: no self-wait)
            try:
                result = await handler(event, data)
                if finish is not None:
                    await finish(session)
                await session.commit()
            except NotClaimed:
                # Our lease ran out and another process took the update: its run is the one that counts.
                await session.rollback()
                log.warning("update %s was taken over by another process; this run was rolled back and sent "
                            "nothing more",
                            getattr(event, "update_id", "?"))
                return None
            return result
