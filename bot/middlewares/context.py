"""Who and where: upserts the user and chat of every update (channel posts have no user), picks the language,
and hands the handler a history recorder bound to both."""
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat as TgChat, TelegramObject, User as TgUser

from handlers.i18n import Translator, normalize_language
from handlers.settings import Settings
from services.history import HistoryRecorder
from storage.repo.core import get_chat, get_user, upsert_chat, upsert_user, user_and_chat
from storage.schema.core import Chat, User

# A busy group sends many updates a minute; "last seen" does not need a write for each of them.
TOUCH_INTERVAL_S = 300.0


class ContextMiddleware(BaseMiddleware):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._user_written: dict[int, tuple[tuple[Any, ...], float]] = {}
        self._chat_written: dict[int, tuple[tuple[Any, ...], float]] = {}

    def forget(self, user_id: int) -> None:
        """Called after /lang or /forget so the next update re-reads and re-writes the user."""
        self._user_written.pop(user_id, None)

    def _fresh(self, cache: dict[int, tuple[tuple[Any, ...], float]], key: int, signature: tuple[Any, ...]) -> bool:
        seen = cache.get(key)
        return seen is not None and seen[0] == signature and time.monotonic() - seen[1] < TOUCH_INTERVAL_S

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        session = data["session"]
        tg_user: TgUser | None = data.get("event_from_user")
        tg_chat: TgChat | None = data.get("event_chat")
        db_user: User | None = None
        db_chat: Chat | None = None
        # Channel posts have no user, and other bots' rows are not kept.
        person = tg_user if tg_user is not None and not tg_user.is_bot else None
        title = (tg_chat.title or tg_chat.full_name if tg_chat.type != "private" else None) if tg_chat else None
        user_signature = (person.first_name, person.last_name, person.username, person.language_code) \
            if person is not None else ()
        chat_signature = (tg_chat.type, title) if tg_chat is not None else ()
        user_fresh = person is not None and self._fresh(self._user_written, person.id, user_signature)
        chat_fresh = tg_chat is not None and self._fresh(self._chat_written, tg_chat.id, chat_signature)

        # Rows written recently are only read back; both at once when both are (the common case: one round trip
        # instead of two, and a round trip costs more than the rest of a cheap update).
        if person is not None and tg_chat is not None and user_fresh and chat_fresh:
            both = await user_and_chat(session, person.id, tg_chat.id)
            if both is not None:
                db_user, db_chat = both
        elif person is not None and user_fresh:
            db_user = await get_user(session, person.id)
        elif tg_chat is not None and chat_fresh:
            db_chat = await get_chat(session, tg_chat.id)

        need_user = person if person is not None and db_user is None else None
        need_chat = tg_chat if tg_chat is not None and db_chat is None else None
        if need_user is not None or need_chat is not None:
            # Written in a short transaction of its own, committed at once: the update's own transaction may stay
            # open for seconds while a model or an image API works, and on SQLite a write held that long would make
            # every other update (a /help too) wait for the database lock.
            async with data["sessionmaker"]() as short, short.begin():
                if need_user is not None:
                    await upsert_user(short, user_id=need_user.id, first_name=need_user.first_name,
                                      last_name=need_user.last_name, username=need_user.username,
                                      telegram_language=need_user.language_code)
                if need_chat is not None:
                    await upsert_chat(short, chat_id=need_chat.id, type=need_chat.type, title=title)
            if need_user is not None:
                db_user = await get_user(session, need_user.id)
                self._user_written[need_user.id] = (user_signature, time.monotonic())
            if need_chat is not None:
                db_chat = await get_chat(session, need_chat.id)
                self._chat_written[need_chat.id] = (chat_signature, time.monotonic())

        data["db_user"], data["db_chat"] = db_user, db_chat
        data["l10n"] = Translator(self.language_for(db_user, db_chat, tg_user))
        data["history"] = HistoryRecorder(session, db_user.id if db_user else None, db_chat.id if db_chat else None)
        data["context"] = self
        return await handler(event, data)

    def language_for(self, db_user: User | None, db_chat: Chat | None, tg_user: TgUser | None) -> str:
        for candidate in (
            db_user.language if db_user else None,
            # In groups and channels a chat-wide choice beats each member's app language.
            db_chat.language if db_chat is not None and db_chat.type != "private" else None,
            normalize_language(tg_user.language_code) if tg_user else None,
            db_chat.language if db_chat else None,
        ):
            if candidate:
                return candidate
        return self.settings.default_language
