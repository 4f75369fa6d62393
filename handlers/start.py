"""/start, /help, /lang."""
from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.commands import CommandSpec, visible_commands
from bot.config import Settings
from bot.sending import edit_or_send
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, Html, Translator, normalize_language

router = Router(name="start")
commands = [
    CommandSpec("start", "cmd-start"),
    CommandSpec("help", "cmd-help"),
    CommandSpec("lang", "cmd-lang"),
]


class LanguageChoice(CallbackData, prefix="lang"):
    code: str


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=LanguageChoice(code=code))
    return builder.adjust(4).as_markup()


@router.message(CommandStart())
async def start(message: Message, l10n: Translator, history) -> None:
    name = message.from_user.first_name if message.from_user else message.chat.title or ""
    await message.answer(l10n("start-greeting", name=name))
    await history.record("start")


def help_text(l10n: Translator, chat_type: str, is_admin: bool) -> str:
    from handlers import all_commands  # the full list, including features registered after this module

    specs = visible_commands(all_commands(), chat_type, is_admin=is_admin)
    lines = [l10n("help-header")]
    lines += [f"/{spec.name} — {l10n(spec.description_key)}" for spec in specs if not spec.admin_only]
    usages = [l10n(spec.usage_key) for spec in specs if spec.usage_key and not spec.admin_only]
    if usages:
        lines += [""] + usages
    admin = [f"/{spec.name} — {l10n(spec.description_key)}" for spec in specs if spec.admin_only]
    if admin:
        lines += ["", l10n("help-admin-header")] + admin
    lines += ["", l10n("help-footer")]
    return Html("\n".join(lines))


@router.message(Command("help"))
async def help_(message: Message, l10n: Translator, settings: Settings, history) -> None:
    # Answered straight from memory: no model, no network, so it stays instant while models are busy.
    user_id = message.from_user.id if message.from_user else None
    from bot.sending import answer_long

    await answer_long(message, help_text(l10n, message.chat.type, settings.is_admin(user_id)))
    await history.record("help")


@router.message(Command("lang"))
async def lang(message: Message, command: CommandObject, l10n: Translator, db_user, db_chat, history, context) -> None:
    if not command.args:
        await message.answer(l10n("lang-choose"), reply_markup=language_keyboard())
        return
    code = normalize_language(command.args.strip())
    if code is None:
        await message.answer(l10n("lang-unknown", code=command.args.strip()[:32], available=", ".join(LANGUAGES)))
        await history.record("lang", command.args, status="rejected")
        return
    await _set_language(code, db_user, db_chat, context)
    await message.answer(Translator(code)("lang-set", language=LANGUAGE_NAMES[code]))
    await history.record("lang", code)


@router.callback_query(LanguageChoice.filter())
async def lang_button(query: CallbackQuery, callback_data: LanguageChoice, db_user, db_chat, context) -> None:
    code = normalize_language(callback_data.code)
    if code is None:  # forged callback data
        await query.answer()
        return
    await _set_language(code, db_user, db_chat, context)
    text = Translator(code)("lang-set", language=LANGUAGE_NAMES[code])
    await edit_or_send(query, text)
    await query.answer()


async def _set_language(code: str, db_user, db_chat, context) -> None:
    # In a private chat the choice is the user's; in a group it is the chat's (everyone reads the same replies).
    if db_chat is not None and db_chat.type != "private":
        db_chat.language = code
    elif db_user is not None:
        db_user.language = code
        context.forget(db_user.id)
