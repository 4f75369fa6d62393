"""Sending helpers shared by every feature: long messages, chat actions, Retry-After."""
import asyncio
import logging
from contextlib import asynccontextmanager

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.chat_action import ChatActionSender

from bot.render import split_message

log = logging.getLogger(__name__)


async def answer_long(message: Message, markup: str, **kwargs) -> list[Message]:
    """Answer with as many messages as the 4096 limit needs; keyboards go on the last one."""
    chunks = split_message(markup) or ["…"]
    markup_kw = kwargs.pop("reply_markup", None)
    sent = []
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        sent.append(await message.answer(chunk, reply_markup=markup_kw if last else None, **kwargs))
    return sent


async def send_long(bot: Bot, chat_id: int, markup: str, **kwargs) -> list[Message]:
    chunks = split_message(markup) or ["…"]
    markup_kw = kwargs.pop("reply_markup", None)
    return [await bot.send_message(chat_id, chunk, reply_markup=markup_kw if i == len(chunks) - 1 else None, **kwargs)
            for i, chunk in enumerate(chunks)]


@asynccontextmanager
async def chat_action(bot: Bot, chat_id: int, action: str = "typing"):
    """Keep a chat action ("typing", "upload_photo") visible while the work inside runs."""
    async with ChatActionSender(bot=bot, chat_id=chat_id, action=action, interval=4.5):
        yield


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Waits out Telegram's flood control (429 with retry_after) and repeats the call, a few times at most."""

    def __init__(self, attempts: int = 3, max_wait_s: float = 60.0):
        self.attempts, self.max_wait_s = attempts, max_wait_s

    async def __call__(self, make_request, bot, method):
        for attempt in range(self.attempts):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self.attempts - 1 or error.retry_after > self.max_wait_s:
                    raise
                log.warning("flood control on %s: waiting %s s", type(method).__name__, error.retry_after)
                await asyncio.sleep(error.retry_after)
        raise AssertionError("unreachable")


async def edit_or_send(query: CallbackQuery, markup: str, **kwargs) -> None:
    """Edit the message a button belongs to; a message older than 48 h (or deleted) arrives as an
    InaccessibleMessage that cannot be edited, so the answer then comes as a new message."""
    if isinstance(query.message, Message):
        await query.message.edit_text(markup, **kwargs)
    elif query.message is not None:
        await query.bot.send_message(query.message.chat.id, markup, **kwargs)
