"""/cancel: stop a running job (a probe, an image test, a bench). Users cancel their own; chat admins and the bot's
admins cancel any job in the chat. Reply to a job's command or status message to pick that one."""
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from handlers.commands import CommandSpec
from handlers.filters import admin_cache, is_chat_admin
from handlers.i18n import Translator
from handlers.jobs import JobRegistry, RunningJob
from handlers.settings import Settings
from services.history import HistoryRecorder

commands = [CommandSpec("cancel", "cmd-cancel", usage_key="cancel-usage")]


async def cancel(message: Message, command: CommandObject, bot: Bot, settings: Settings, l10n: Translator,
                 history: HistoryRecorder, jobs: JobRegistry, **data: Any) -> None:
    user = message.from_user
    user_id = user.id if user else None
    admin = await is_chat_admin(bot, settings, message.chat, user, message.sender_chat, admin_cache(data)) \
        if message.chat.type != "private" else True
    everything = (command.args or "").strip().lower() == "all"
    chosen: list[RunningJob]
    replied = message.reply_to_message
    target = jobs.by_message(message.chat.id, replied.message_id) if replied is not None else None
    if target is not None:
        if target.user_id != user_id and not admin:
            await message.answer(l10n("cancel-not-yours"))
            await history.record("cancel", command.args or "", status="rejected", result={"reason": "not yours"})
            return
        chosen = [target]
    elif everything and admin:
        chosen = jobs.running(message.chat.id)
    else:
        chosen = jobs.running(message.chat.id, user_id)
    stopped = [job for job in chosen if user_id is not None and jobs.cancel(job, user_id)]
    if not stopped:
        await message.answer(l10n("cancel-nothing"))
        await history.record("cancel", command.args or "", status="rejected", result={"reason": "nothing running"})
        return
    await message.answer(l10n("cancel-done", count=len(stopped)))
    await history.record("cancel", command.args or "", result={"jobs": [job.command for job in stopped]})


def create_router() -> Router:
    router = Router(name="cancel")
    router.message.register(cancel, Command("cancel"))
    return router
