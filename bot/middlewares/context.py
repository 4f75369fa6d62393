"""Who and where: upserts the user and chat of every update (channel posts have no user), picks the language,
and hands the handler a history recorder bound to both."""
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat as TgChat
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser

from bot.config import Settings
from bot.history import HistoryRecorder
from bot.i18n import Translator, normalize_language
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
        db_user = db_chat = None
        user_signature = chat_signature = title = None
        user_fresh = chat_fresh = False
        if tg_user is not None and not tg_user.is_bot:
            user_signature = (tg_user.first_name, tg_user.last_name, tg_user.username, tg_user.language_code)
            user_fresh = self._fresh(self._user_written, tg_user.id, user_signature)
        if tg_chat is not None:
            title = tg_chat.title or tg_chat.full_name if tg_chat.type != "private" else None
            chat_signature = (tg_chat.type, title)
            chat_fresh = self._fresh(self._chat_written, tg_chat.id, chat_signature)

        # Rows written recently are only read back; both at once when both are (the common case: one round trip
        # instead of two, and a round trip costs more than the rest of a cheap update).
        if user_fresh and chat_fresh:
            assert tg_user is not None and tg_chat is not None
            both = await user_and_chat(session, tg_user.id, tg_chat.id)
            if both is not None:
                db_user, db_chat = both
        elif user_fresh:
            assert tg_user is not None
            db_user = await get_user(session, tg_user.id)
        elif chat_fresh:
            assert tg_chat is not None
            db_chat = await get_chat(session, tg_chat.id)

        need_user = user_signature is not None and db_user is None
        need_chat = chat_signature is not None and db_chat is None
        if need_user or need_chat:
            # Written in a short transaction of its own, committed at once: the update's own transaction may stay
            # open for seconds while a model or an image API works, and on SQLite a write held that long would make
            # every other update (a /help too) wait for the database lock.
            async with data["sessionmaker"]() as short, short.begin():
                if need_user:
                    await upsert_user(short, user_id=tg_user.id, first_name=tg_user.first_name,
                                      last_name=tg_user.last_name, username=tg_user.username,
                                      telegram_language=tg_user.language_code)
                if need_chat:
                    await upsert_chat(short, chat_id=tg_chat.id, type=tg_chat.type, title=title)
            if need_user:
                db_user = await get_user(session, tg_user.id)
                self._user_written[tg_user.id] = (user_signature, time.monotonic())
            if need_chat:
                db_chat = await get_chat(session, tg_chat.id)
                self._chat_written[tg_chat.id] = (chat_signature, time.monotonic())

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
