"""Per-user and per-chat limits for handlers flagged `expensive` (model inference, paid image APIs).

Moving windows counted by `limits` (bot/middlewares/quota_backends.py): in this process by default, or in Redis
(`QUOTA_STORAGE=redis://…`) so that every replica shares one window per user and per chat."""
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, Message, TelegramObject

from handlers.commands import command_of
from handlers.settings import Settings


class QuotaMiddleware(BaseMiddleware):
    def __init__(self, settings: Settings) -> None:
        from bot.middlewares.quota_backends import LimitsQuota

        self.user_limit, self.chat_limit = settings.quota_user_requests, settings.quota_chat_requests
        # In this process by default; QUOTA_STORAGE=redis://… shares the windows between replicas.
        self.backend = LimitsQuota(settings.quota_storage, settings.quota_window_s)

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        if not get_flag(data, "expensive"):
            return await handler(event, data)
        from bot import metrics
        from bot.middlewares.quota_backends import Check

        user, chat = data.get("event_from_user"), data.get("event_chat")
        checks = [Check("user", user.id, self.user_limit)] if user else []
        if chat and chat.type != "private":
            checks.append(Check("chat", chat.id, self.chat_limit))
        wait, scope = await self.backend.acquire(checks)
        if wait > 0:
            metrics.record_quota_refusal(scope or "user")
            command, arguments = command_of(event)
            l10n, history = data["l10n"], data["history"]
            text = l10n("quota-wait", seconds=math.ceil(wait))
            if isinstance(event, CallbackQuery):
                await event.answer(text, show_alert=True)
            elif isinstance(event, Message):  # expensive handlers take messages or button presses
                await event.answer(text)
            await history.record(command, arguments, status="rejected", result={"reason": "quota",
                                                                                 "retry_after_s": math.ceil(wait)})
            return None
        return await handler(event, data)
