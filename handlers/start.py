"""/start, /help, /lang."""
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.commands import CommandSpec, Permission, visible_commands
from handlers.context import UserCache
from handlers.filters import admin_cache, permits
from handlers.history import send_export
from handlers.i18n import LANGUAGE_NAMES, LANGUAGES, Html, Translator, normalize_language
from handlers.sending import ReplyTarget, answer_long, edit_or_send
from handlers.settings import Settings
from services.history import HistoryRecorder
from services.preferences import set_language
from storage.schema.core import Chat, User

commands = [
    CommandSpec("start", "cmd-start"),
    CommandSpec("help", "cmd-help"),
    # A group's language is the group's: only its admins change it (anyone changes their own in private).
    CommandSpec("lang", "cmd-lang", permission=Permission.CHAT_ADMIN),
]


class LanguageChoice(CallbackData, prefix="lang"):
    code: str


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=LanguageChoice(code=code))
    return InlineKeyboardMarkup(inline_keyboard=builder.adjust(4).export())


async def start_export(message: Message, bot: Bot, session: AsyncSession, l10n: Translator, db_user: User | None,
                       history: HistoryRecorder) -> None:
    """The deep link a group's /export offers when the bot could not write to the user yet."""
    if db_user is None:
        return
    count = await send_export(bot, session, l10n, db_user.id, ReplyTarget.of(message))
    if count is None:
        await message.answer(l10n("export-empty"))
    await history.record("export", "start", result={"entries": count or 0})


async def start(message: Message, l10n: Translator, history: HistoryRecorder) -> None:
    name = message.from_user.first_name if message.from_user else message.chat.title or ""
    await message.answer(l10n("start-greeting", name=name))
    await history.record("start")


def help_text(specs: list[CommandSpec], l10n: Translator, chat_type: str, is_admin: bool) -> str:
    """/help from every feature's `commands` (`specs`), those this user may see here."""
    specs = visible_commands(specs, chat_type, is_admin=is_admin)
    lines = [l10n("help-header")]
    lines += [f"/{spec.name} — {l10n(spec.description_key)}{_rule(spec, chat_type, l10n)}"
              for spec in specs if not spec.admin_only]
    usages = [l10n(spec.usage_key) for spec in specs if spec.usage_key and not spec.admin_only]
    if usages:
        lines += [""] + usages
    admin = [f"/{spec.name} — {l10n(spec.description_key)}" for spec in specs if spec.admin_only]
    if admin:
        lines += ["", l10n("help-admin-header")] + admin
    lines += ["", l10n("help-footer")]
    return Html("\n".join(lines))


def _rule(spec: CommandSpec, chat_type: str, l10n: Translator) -> str:
    """Who may run it, when not everyone: the rule of its CommandSpec, as /help shows it."""
    if spec.rule_in(chat_type) is Permission.CHAT_ADMIN:
        return f" · 🔒 {l10n('help-rule-chat-admin')}"
    return ""


def help_handler(specs: list[CommandSpec]) -> Callable[..., Awaitable[None]]:
    """The /help handler over every feature's commands (passed in by `handlers.routers.get_routers`)."""
    async def help_(message: Message, l10n: Translator, settings: Settings, history: HistoryRecorder) -> None:
        # Answered straight from memory: no model, no network, so it stays instant while models are busy.
        user_id = message.from_user.id if message.from_user else None
        await answer_long(message, help_text(specs, l10n, message.chat.type, settings.is_admin(user_id)))
        await history.record("help")

    return help_


async def lang(message: Message, command: CommandObject, l10n: Translator, session: AsyncSession, db_user: User | None,
               db_chat: Chat | None, history: HistoryRecorder, context: UserCache) -> None:
    if not command.args:
        await message.answer(l10n("lang-choose"), reply_markup=language_keyboard())
        return
    code = normalize_language(command.args.strip())
    if code is None:
        await message.answer(l10n("lang-unknown", code=command.args.strip()[:32], available=", ".join(LANGUAGES)))
        await history.record("lang", command.args, status="rejected")
        return
    await _set_language(code, session, db_user, db_chat, context)
    await message.answer(Translator(code)("lang-set", language=LANGUAGE_NAMES[code]))
    await history.record("lang", code)


async def lang_button(query: CallbackQuery, callback_data: LanguageChoice, bot: Bot, settings: Settings,
                      l10n: Translator, history: HistoryRecorder, session: AsyncSession, db_user: User | None,
                      db_chat: Chat | None, context: UserCache, **data: Any) -> None:
    code = normalize_language(callback_data.code)
    if code is None:  # forged callback data
        await query.answer()
        return
    # The keyboard is visible to every member: the same rule as /lang (CommandSpec), checked at the press.
    if not await permits(Permission.CHAT_ADMIN, query, bot, settings, admin_cache(data)):
        await query.answer(l10n("lang-admins-only"), show_alert=True)
        await history.record("lang", code, status="rejected", result={"reason": "not allowed", "rule": "chat_admin"})
        return
    await _set_language(code, session, db_user, db_chat, context)
    text = Translator(code)("lang-set", language=LANGUAGE_NAMES[code])
    await edit_or_send(query, text)
    await query.answer()


async def _set_language(code: str, session: AsyncSession, db_user: User | None, db_chat: Chat | None,
                        context: UserCache) -> None:
    change = await set_language(session, code, db_user, db_chat)
    if change.user_id is not None:
        context.forget(change.user_id)  # the middleware's cached profile carries the old language


def create_router(specs: list[CommandSpec]) -> Router:
    """`specs`: every feature's commands, for /help."""
    router = Router(name="start")
    router.message.register(start_export, CommandStart(deep_link=True, magic=F.args == "export"),
                            F.chat.type == "private")
    router.message.register(start, CommandStart())
    router.message.register(help_handler(specs), Command("help"))
    router.message.register(lang, Command("lang"))
    router.callback_query.register(lang_button, LanguageChoice.filter())
    return router
