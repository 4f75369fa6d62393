"""The Bot API call journal: exactly one reply even when an update is processed a second time.

An update's handler runs again after a crash that came before its commit: its writes were rolled back, its messages
were not. So every call that changes something in Telegram (send, edit, delete, answer a button) made while an inbox
update runs is journaled by (update_id, position): the intent committed before the request, the result after it. A
rerun gets the recorded result back instead of sending again (a real `Message`, so later edits find it). An intent
without a result (the process died before hearing the answer) is a message treated as sent (never twice: Telegram
has no idempotency key) or an edit sent again (`REPEATABLE`: "message is not modified" counts as done). The journal
has an engine of its own (the same PostgreSQL database, or a file beside SQLite). Details: docs/operations.md,
"Updates: the durable inbox" and "Faults"."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response
from aiohttp import ServerDisconnectedError
from pydantic_core import to_jsonable_python
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.outgoing import OutgoingCalls
from handlers.outgoing import JournalPosition
from storage.db import Pool, create_engine, create_sessionmaker, is_transient, truncate_wal
from storage.repo import calls as repo, inbox as inbox_repo
from storage.schema.inbox import InboxCall

log = logging.getLogger("bot.calls")
# Calls that change nothing a user sees twice: not journaled.
UNJOURNALED = frozenset({"sendChatAction"})
# Calls whose repetition shows the user nothing new: an edit to the same content (Telegram answers "message is not
# modified"). When one of these was intended but its answer was lost with the process, it is sent again rather than
# assumed sent: a `/leak` whose final edit (the result) was cut by a crash still shows its result, never twice.
REPEATABLE = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia"})


@dataclass(frozen=True)
class Recorded:
    method: str
    result: Any
    answered: bool


class CallJournal:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.sessionmaker = create_sessionmaker(engine)
        # The calls around every send (recall, intent, answer, forget) are one statement each: in autocommit each is
        # one round trip instead of three (BEGIN, the statement, COMMIT) on PostgreSQL, where the journal's traffic
        # was a third of a replica's time under load. Not for an in-memory database: its one shared connection
        # (StaticPool) may be inside another session's transaction.
        in_memory = engine.url.database in (None, "", ":memory:")
        self.statements = self.sessionmaker if in_memory else create_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"))

    @classmethod
    async def open(cls, database_url: str) -> CallJournal:
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite":
            database = url.database or ""
            path = f"{database}.calls" if database and database != ":memory:" else ":memory:"
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url.set(database=path).render_as_string(hide_password=False))
            async with engine.begin() as connection:  # its own file: the one table, created here
                await connection.run_sync(lambda sync: InboxCall.metadata.create_all(
                    sync, tables=[InboxCall.metadata.tables["inbox_calls"]]))
        else:
            # The table comes with the migrations. 10 kept + 5 overflow (SQLAlchemy's 5 + 10 holds as many): with 20
            # updates sending at once, a pool of 5 opened and closed a connection for many of the calls around a send.
            engine = create_engine(database_url, pool=Pool(size=10, overflow=5, timeout_s=30.0))
        return cls(engine)

    async def recall(self, update_id: int, seq: int) -> Recorded | None:
        async with self.statements() as session:
            row = await repo.recall(session, update_id, seq)
        if row is None:
            return None
        method, result = row
        return Recorded(method, None if result is None else result.get("value"), result is not None)

    async def intend(self, update_id: int, seq: int, method: str, claim: tuple[str, int] | None = None) -> None:
        """Commit the intent. With `claim` (owner, attempt), only while that claim still holds the update, read
        just before it (raises NotClaimed otherwise: another process runs the update now)."""
        async with self.statements() as session, session.begin():
            if claim is not None and not await inbox_repo.still_held(session, update_id, *claim):
                raise inbox_repo.NotClaimed(update_id)
            await repo.intend(session, update_id, seq, method)

    async def answer(self, update_id: int, seq: int, value: Any) -> None:
        async with self.statements() as session, session.begin():
            await repo.answer(session, update_id, seq, value)

    async def forget(self, update_id: int, seq: int) -> None:
        """The request failed: nothing reached the chat, a later run sends it again."""
        async with self.statements() as session, session.begin():
            await repo.forget(session, update_id, seq)

    async def prune(self, before: datetime) -> int:
        async with self.sessionmaker() as session, session.begin():
            return await repo.prune(session, before)

    async def erase_user(self, user_id: int, update_ids: list[int], current: int) -> int:
        """/forget (services/privacy.py JournalEraser), after the `current` update's last call: its entries, and,
        when the journal is a file of its own (SQLite), the entries of the user's `update_ids` and every entry whose
        answer names the user. On PostgreSQL the /forget transaction already deleted those in the same table, and
        touching them here would wait on its row locks, which it holds until after this returns."""
        separate = self.engine.dialect.name == "sqlite"
        async with self.sessionmaker() as session, session.begin():
            if not separate:
                return await repo.erase(session, [current], None)
            return await repo.erase(session, [*update_ids, current], lambda result: _names(result, user_id))

    async def truncate_wal(self) -> bool:
        """After /forget (services/privacy.py): the journal file's WAL loses the deleted entries' old pages."""
        return await truncate_wal(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()


def _names(value: Any, user_id: int) -> bool:
    """A journaled answer about the user: an object with their id (their private chat, them as a sender)."""
    if isinstance(value, dict):
        return value.get("id") == user_id or any(_names(item, user_id) for item in value.values())
    if isinstance(value, list):
        return any(_names(item, user_id) for item in value)
    return False


def _result(bot: Bot, method: TelegramMethod[Any], value: Any) -> Any:
    """A journaled JSON result as the object the method returns (a Message, True, a list)."""
    response = Response[method.__returning__].model_validate(  # type: ignore[name-defined]
        {"ok": True, "result": value}, context={"bot": bot})
    return response.result


def _stand_in(bot: Bot, method: TelegramMethod[Any]) -> Any:
    """A result for a call that was (probably) made but whose answer was lost with the process."""
    returning = str(getattr(method, "__returning__", ""))
    chat_id = getattr(method, "chat_id", None)
    result: Any
    if "Message" in returning and "list" not in returning and chat_id is not None:
        try:
            chat = int(chat_id)
        except (TypeError, ValueError):
            return None
        result = {"message_id": 0, "date": int(time.time()),
                  "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup"}}
    elif "list" in returning:
        result = []
    elif "bool" in returning:
        result = True
    else:
        return None
    return _result(bot, method, result)


class CallJournalStage:
    """The journal's stage of the outgoing-call pipeline (bot/outgoing.py): around the retries, so a call is
    journaled once, not once per 429 or 5xx attempt."""

    def __init__(self, journal: CallJournal):
        self.journal = journal
        self.replayed = 0  # calls answered from the journal instead of sent again

    async def __call__(self, context: JournalPosition, send: Callable[[], Awaitable[Any]], bot: Bot,
                       method: TelegramMethod[Any]) -> Any:
        """`send()` makes the request (with the pipeline's retries); its result is the method's (a Message)."""
        name = method.__api_method__
        if name.startswith("get") or name in UNJOURNALED:
            return await send()
        context.seq += 1
        seq = context.seq
        repeated = False
        if context.replay:
            recorded = await self.journal.recall(context.update_id, seq)
            if recorded is not None and recorded.method == name:
                repeated = not recorded.answered and name in REPEATABLE
                response = None if repeated else (_result(bot, method, recorded.result) if recorded.answered
                                                  else _stand_in(bot, method))
                if response is not None:
                    self.replayed += 1
                    log.info("update %s: %s #%d was sent before the restart; not sending it again",
                             context.update_id, name, seq)
                    return response
        try:  # NotClaimed: another process runs this update now; its calls are the ones that count
            if context.fence is not None:
                await context.fence()
            await self.journal.intend(context.update_id, seq, name, claim=context.claim)
        except inbox_repo.NotClaimed:
            context.lost = True
            raise
        try:
            response = await send()
        except TelegramBadRequest as error:
            if not (repeated and "not modified" in error.message):
                await self._forget(context.update_id, seq, name)
                raise
            # The first run's edit had arrived: the message already shows this content.
            response = _stand_in(bot, method)
            log.info("update %s: %s #%d had arrived before the restart", context.update_id, name, seq)
        except BaseException as error:
            if not _maybe_delivered(error) and not (isinstance(error, asyncio.CancelledError)
                                                    and getattr(send, "on_wire", False)):
                await self._forget(context.update_id, seq, name)
            # else: Telegram may have received it (no answer in time, the connection dropped after the request
            # left, or a shutdown cut the update while its request was out: bot/outgoing.py `_Send`): the intent
            # stays undecided, and the update's next run decides it by the rule above.
            raise
        try:
            await self.journal.answer(context.update_id, seq,
                                      to_jsonable_python(response, by_alias=True, exclude_none=True))
        except Exception as error:  # transient: one line; else a traceback
            log.warning("could not journal the result of %s (%s)", name, type(error).__name__,
                        exc_info=not is_transient(error))
        return response


    async def _forget(self, update_id: int, seq: int, name: str) -> None:
        try:
            await self.journal.forget(update_id, seq)
        except Exception as error:  # transient: one line; else a traceback
            log.warning("could not clear the journal entry of a failed %s (%s)", name, type(error).__name__,
                        exc_info=not is_transient(error))


def _maybe_delivered(error: BaseException) -> bool:
    """A request that timed out or lost its connection after it was sent: Telegram may have acted on it."""
    if not isinstance(error, TelegramNetworkError):
        return False
    cause = error.__cause__
    return isinstance(cause, (TimeoutError, ServerDisconnectedError)) or "timeout" in error.message.lower()


def install(bot: Bot, journal: CallJournal) -> CallJournalStage:
    """Give the bot's outgoing-call pipeline this journal (the inbox does, at start)."""
    stage = CallJournalStage(journal)
    OutgoingCalls.of(bot).journal = stage
    return stage


def uninstall(bot: Bot, stage: CallJournalStage) -> None:
    pipeline = OutgoingCalls.of(bot)
    if pipeline.journal is stage:
        pipeline.journal = None


__all__ = ["CallJournal", "CallJournalStage", "JournalPosition", "install", "uninstall"]
