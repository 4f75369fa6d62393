"""The first feature router: refuses commands whose CommandSpec rule the sender does not meet (one place for every
command's authorization), and answers a plain mention of the bot in a group with a short hint."""
from aiogram import Bot, F, Router
from aiogram.filters import BaseFilter
from aiogram.types import Message

from chatkit.chats import GROUP_TYPES
from chatkit.command import parse_command
from handlers.commands import CommandSpec, Permission
from handlers.filters import CommandRefused
from handlers.i18n import Translator
from services.history import HistoryRecorder

commands: list[CommandSpec] = []


async def refuse(message: Message, refused: CommandSpec, rule: Permission, l10n: Translator,
                 history: HistoryRecorder) -> None:
    key = "refused-bot-admin" if rule is Permission.BOT_ADMIN else "refused-chat-admin"
    await message.answer(l10n(key, command=refused.name))
    parsed = parse_command(message.text or message.caption)
    await history.record(refused.name, parsed.args if parsed else "", status="rejected",
                         result={"reason": "not allowed", "rule": rule.value})


class MentionsBot(BaseFilter):
    """A message (not a command) that mentions this bot by @username or as a text mention."""

    async def __call__(self, message: Message, bot: Bot) -> bool:
        text = message.text or message.caption
        if not text or text.startswith("/"):
            return False
        me = await bot.me()
        for entity in message.entities or message.caption_entities or []:
            if entity.type == "text_mention" and entity.user is not None and entity.user.id == me.id:
                return True
            if entity.type == "mention" and me.username and \
                    entity.extract_from(text).lstrip("@").lower() == me.username.lower():
                return True
        return False


async def mentioned(message: Message, l10n: Translator) -> None:
    # Works with privacy mode on (Telegram delivers mentions of the bot) and off (every message arrives).
    await message.answer(l10n("mention-hint"))


def create_router(specs: list[CommandSpec]) -> Router:
    """`specs`: every feature's commands (`handlers.routers.all_commands()`), the rules the guard applies."""
    router = Router(name="guard")
    router.message.register(refuse, CommandRefused(specs))
    router.message.register(mentioned, F.chat.type.in_(GROUP_TYPES), MentionsBot())
    return router
