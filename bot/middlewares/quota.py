"""Per-user and per-chat limits for handlers flagged `expensive` (model inference, paid image APIs).

Sliding windows kept in this process: a multi-instance deployment gets per-instance limits (documented)."""
import math
import time
from collections import defaultdict, deque

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, Message

from bot.config import Settings


class SlidingWindow:
    def __init__(self, limit: int, window_s: float):
        self.limit, self.window_s = limit, window_s
        self._hits: dict[int, deque[float]] = defaultdict(deque)

    def retry_after(self, key: int, now: float) -> float:
        """Seconds until `key` may run again; 0 when it may run now."""
        hits = self._hits[key]
        while hits and now - hits[0] >= self.window_s:
            hits.popleft()
        if len(hits) < self.limit:
            return 0.0
        return self.window_s - (now - hits[0])

    def hit(self, key: int, now: float) -> None:
        self._hits[key].append(now)


def command_of(event) -> tuple[str, str]:
    """('leak', 'yellow | He works as a') for a message; ('cb', data) for a button press."""
    if isinstance(event, Message) and event.text and event.text.startswith("/"):
        head, _, rest = event.text.partition(" ")
        return head[1:].split("@")[0].lower(), rest.strip()
    if isinstance(event, CallbackQuery):
        return (event.data or "").split(":")[0], event.data or ""
    return "text", ""


class QuotaMiddleware(BaseMiddleware):
    def __init__(self, settings: Settings):
        self.per_user = SlidingWindow(settings.quota_user_requests, settings.quota_window_s)
        self.per_chat = SlidingWindow(settings.quota_chat_requests, settings.quota_window_s)

    async def __call__(self, handler, event, data):
        if not get_flag(data, "expensive"):
            return await handler(event, data)
        user, chat = data.get("event_from_user"), data.get("event_chat")
        now = time.monotonic()
        wait = max(self.per_user.retry_after(user.id, now) if user else 0.0,
                   self.per_chat.retry_after(chat.id, now) if chat and chat.type != "private" else 0.0)
        if wait > 0:
            command, arguments = command_of(event)
            l10n, history = data["l10n"], data["history"]
            text = l10n("quota-wait", seconds=math.ceil(wait))
            if isinstance(event, CallbackQuery):
                await event.answer(text, show_alert=True)
            else:
                await event.answer(text)
            await history.record(command, arguments, status="rejected", result={"reason": "quota",
                                                                                 "retry_after_s": math.ceil(wait)})
            return None
        if user:
            self.per_user.hit(user.id, now)
        if chat and chat.type != "private":
            self.per_chat.hit(chat.id, now)
        return await handler(event, data)
