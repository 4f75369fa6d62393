"""Errors: log the update id with the traceback, tell the user a short localized apology, record the failure."""
import logging

from aiogram import Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import ErrorEvent
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.commands import CommandSpec, command_of
from handlers.i18n import Translator, normalize_language
from handlers.settings import Settings
from services.history import Person, Place, record_entry, remember_sender

log = logging.getLogger("bot.errors")
commands: list[CommandSpec] = []


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
            person = Person(user.id, user.first_name, user.last_name, user.username, user.language_code) \
                if user and not user.is_bot else None
            place = Place(chat.id, chat.type, chat.title) if chat else None
            # Blocked or removed (TelegramForbiddenError): stop sending there.
            user_id, chat_id, chosen = await remember_sender(
                session, person, place, blocked=isinstance(event.exception, TelegramForbiddenError))
            lang = chosen or normalize_language(user.language_code if user else None) or lang
            command, arguments = command_of(source)
            await record_entry(session, user_id=user_id, chat_id=chat_id, command=command, arguments=arguments,
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
