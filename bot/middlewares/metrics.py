"""Counting for `/metrics` (bot/metrics.py): every update by command and outcome with its handler latency, and every
Bot API request with its 429s."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.types import TelegramObject, Update

from bot import metrics
from chatkit.command import parse_command


def command_label(update: Update, known: frozenset[str]) -> str:
    """A bounded label: a known command's name, `unknown_command`, `text`, `callback`, or the update type. Anything a
    user can type freely never becomes a label (each label value is a time series kept forever)."""
    message = update.message or update.edited_message or update.channel_post
    if message is not None:
        body = message.text or message.caption or ""
        parsed = parse_command(body)
        if parsed is not None:
            return parsed.name if parsed.name in known else "unknown_command"
        return "text" if message.text is not None else "media"
    if update.callback_query is not None:
        return "callback"
    return update.event_type or "other"


class UpdateMetricsMiddleware(BaseMiddleware):
    """Outer middleware on `update`, registered first so the time includes the database session and the context."""

    def __init__(self, commands: Iterable[str]):
        self.known = frozenset(commands)

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        label = command_label(event, self.known) if isinstance(event, Update) else "other"
        started = time.perf_counter()
        status = "error"
        try:
            result = await handler(event, data)
            status = "unhandled" if result is UNHANDLED else "ok"
            return result
        finally:
            metrics.HANDLER_SECONDS.labels(command=label).observe(time.perf_counter() - started)
            metrics.UPDATES.labels(command=label, status=status).inc()


class BotApiMetricsMiddleware(BaseRequestMiddleware):
    """Registered after the Retry-After middleware, so it is inside it and sees every attempt, 429s included."""

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Any:
        name = type(method).__name__
        try:
            result = await make_request(bot, method)
        except TelegramRetryAfter:
            metrics.BOT_API_429.labels(method=name).inc()
            metrics.BOT_API_REQUESTS.labels(method=name, outcome="retry_after").inc()
            raise
        except Exception:
            metrics.BOT_API_REQUESTS.labels(method=name, outcome="error").inc()
            raise
        metrics.BOT_API_REQUESTS.labels(method=name, outcome="ok").inc()
        return result
