"""Last router: unknown commands get a pointer to /help; chatter in groups and commands for other bots are ignored."""
from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from chatkit.command import parse_command
from handlers.commands import CommandSpec
from handlers.i18n import Translator
from services.history import HistoryRecorder

commands: list[CommandSpec] = []


def addressed_to_other_bot(text: str, bot_username: str | None) -> bool:
    parsed = parse_command(text)
    if parsed is None or parsed.mention is None:
        return False
    return bot_username is None or parsed.mention.lower() != bot_username.lower()


async def unknown_command(message: Message, l10n: Translator, bot_username: str | None,
                          history: HistoryRecorder) -> None:
    parsed = parse_command(message.text)
    assert parsed is not None  # the filter matched text starting with "/"
    if parsed.mention is not None and addressed_to_other_bot(message.text or "", bot_username):
        return
    # In a group, "/foo" without a mention may be meant for another bot: only answer when addressed or in private.
    if message.chat.type != "private" and parsed.mention is None:
        return
    command = parsed.name[:32]
    await message.answer(l10n("unknown-command", command=command))
    await history.record(command or "?", parsed.args, status="rejected", result={"reason": "unknown command"})


async def private_chatter(message: Message, l10n: Translator) -> None:
    await message.answer(l10n("private-chatter"))


async def stale_button(query: CallbackQuery, l10n: Translator) -> None:
    # Buttons from an older version of the bot, or forged callback data.
    await query.answer(l10n("stale-button"), show_alert=False)


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unknown_command, F.text.startswith("/"))
    router.message.register(private_chatter, F.chat.type == "private")
    router.callback_query.register(stale_button)
    return router
