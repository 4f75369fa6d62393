"""Errors: log the update id with the traceback, tell the user a short localized apology, record the failure."""
import logging

from aiogram import Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import ErrorEvent
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import Translator, normalize_language
from bot.middlewares.quota import command_of
from storage.repo.core import deactivate_chat, record_history, upsert_chat, upsert_user

log = logging.getLogger("bot.errors")


async def on_error(event: ErrorEvent, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    update = event.update
    log.exception("update %s failed: %s", update.update_id, type(event.exception).__name__,
                  exc_info=event.exception)
    message = update.message or update.edited_message or update.channel_post
    query = update.callback_query
    source = message or query
    if source is None:
        return
    user = source.from_user if source else None
    chat = message.chat if message else (query.message.chat if query and query.message else None)
    # The handler's transaction was rolled back; this one is separate, so the failure itself is kept.
    lang = settings.default_language
    try:
        async with sessionmaker() as session, session.begin():
            # Upserts, not reads: the user's row may not exist (an update that failed before the context
            # middleware committed it) or be older than this update's name and language.
            db_user = await upsert_user(session, user_id=user.id, first_name=user.first_name,
                                        last_name=user.last_name, username=user.username,
                                        telegram_language=user.language_code) if user and not user.is_bot else None
            db_chat = await upsert_chat(session, chat_id=chat.id, type=chat.type,
                                        title=chat.title) if chat else None
            if isinstance(event.exception, TelegramForbiddenError) and db_chat is not None:
                await deactivate_chat(session, db_chat.id)  # blocked or removed: stop sending there
            lang = ((db_user.language if db_user else None) or (db_chat.language if db_chat else None)
                    or normalize_language(user.language_code if user else None) or lang)
            command, arguments = command_of(source)
            await record_history(session, user_id=db_user.id if db_user else None,
                                 chat_id=db_chat.id if db_chat else None, command=command, arguments=arguments,
                                 status="error", result={"error": type(event.exception).__name__})
    except Exception:  # the database itself may be what failed
        log.exception("could not record the failure of update %s", update.update_id)
    text = Translator(lang)("error-apology")
    try:
        if query is not None:
            await query.answer(text, show_alert=True)
        elif message is not None:
            await message.answer(text)
    except Exception:
        log.exception("could not send the apology for update %s", update.update_id)


def create_router() -> Router:
    """The Dispatcher-wide catch-all: every error a feature router did not answer ends here."""
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
