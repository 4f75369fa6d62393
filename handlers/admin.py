"""/stats for the bot's admins (ADMIN_IDS)."""
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.render import escape
from handlers.commands import CommandSpec
from handlers.filters import IsBotAdmin
from handlers.i18n import Html, Translator
from handlers.sending import answer_long
from handlers.settings import Settings
from services.history import HistoryRecorder, usage_stats

commands = [CommandSpec("stats", "cmd-stats", admin_only=True)]


async def stats(message: Message, session: AsyncSession, l10n: Translator, settings: Settings,
                history: HistoryRecorder) -> None:
    numbers = await usage_stats(session)
    lines = [l10n("stats-text", users=numbers.users, chats=numbers.chats, requests=numbers.requests,
                  errors=numbers.errors, rejected=numbers.rejected)]
    if numbers.by_command:
        lines += ["", l10n("stats-by-command")]
        lines += [f"/{escape(command)}: {total} / {errors}" for command, total, errors in numbers.by_command]
    await answer_long(message, Html("\n".join(lines)))
    await history.record("stats")


def create_router() -> Router:
    router = Router(name="admin")
    # The guard router refuses others (localized, recorded) by the CommandSpec rule; this filter keeps any
    # handler added here later behind the same rule.
    router.message.filter(IsBotAdmin())
    router.message.register(stats, Command("stats"))
    return router
