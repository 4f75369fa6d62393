"""Counting for `/metrics` (bot/metrics.py): every update by command and outcome with its handler latency (Bot API
requests are counted by the outgoing-call pipeline, bot/outgoing.py)."""
from __future__ import annotations

import time
import warnings
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update
from aiogram.types.update import UpdateTypeLookupError

from bot import metrics
from chatkit.command import parse_command

# An update of a kind this aiogram does not know (a newer Bot API) is acknowledged, counted under the label
# `unknown_kind` and skipped. aiogram's own warning about it would print the whole update body (user content): off.
warnings.filterwarnings("ignore", message="Detected unknown update type", category=RuntimeWarning)


def update_kind(update: Update) -> str | None:
    """The update's kind (`message`, `callback_query`, …), or None for a kind this aiogram does not know."""
    try:
        return update.event_type
    except UpdateTypeLookupError:  # a kind newer than this aiogram: `{"update_id": 41, "brand_new": {}}`
        return None


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
    return update_kind(update) or "unknown_kind"


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
