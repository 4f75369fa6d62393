"""Sending helpers shared by every feature: the reply target (topic + reply), long messages, chat actions.

Every send to the chat an update came from goes to the forum topic the command was asked in and, in groups, replies
to the command (`ReplyTarget.apply`). `ReplyTargetMiddleware` puts the update's target in the call scope
(handlers/outgoing.py); the outgoing-call pipeline (bot/outgoing.py) applies it to every send. Code outside an
update (the digest broadcaster) or sending to another chat (/export in private) passes the target (`Replier`)."""
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.methods import (
    SendAnimation,
    SendAudio,
    SendChatAction,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendPoll,
    SendSticker,
    SendVideo,
    SendVoice,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InputFile,
    InputMediaPhoto,
    Message,
    ReplyParameters,
    TelegramObject,
    Update,
)
from aiogram.utils.chat_action import ChatActionSender

from chatkit.chats import GROUP_TYPES
from chatkit.render import split_message
from handlers.outgoing import current_scope, scoped

log = logging.getLogger(__name__)
# Sends that accept both a topic and a reply; a chat action accepts a topic only.
_REPLYING_SENDS = (SendMessage, SendPhoto, SendDocument, SendMediaGroup, SendAnimation, SendAudio, SendVideo,
                   SendVoice, SendSticker, SendPoll)


@dataclass(frozen=True)
class ReplyTarget:
    """Where answers to one command go: the chat, its forum topic, and (in groups) the message to reply to."""

    chat_id: int
    chat_type: str = "private"
    thread_id: int | None = None
    reply_to: int | None = None  # message id of the command (groups only)
    user_id: int | None = None  # who asked

    @classmethod
    def of(cls, message: Message | InaccessibleMessage, user_id: int | None = None) -> "ReplyTarget":
        chat = message.chat
        thread = None
        if isinstance(message, Message) and message.is_topic_message:
            thread = message.message_thread_id
        reply_to = message.message_id if chat.type in GROUP_TYPES and message.message_id else None
        if user_id is None and isinstance(message, Message) and message.from_user is not None:
            user_id = message.from_user.id
        return cls(chat_id=chat.id, chat_type=chat.type, thread_id=thread, reply_to=reply_to, user_id=user_id)

    @classmethod
    def of_event(cls, event: TelegramObject) -> "ReplyTarget | None":
        """A message's target; a button press answers in the topic of the message the button is on, replying to
        it."""
        if isinstance(event, Message):
            return cls.of(event)
        if isinstance(event, CallbackQuery) and event.message is not None:
            return cls.of(event.message, user_id=event.from_user.id)
        return None

    @property
    def in_group(self) -> bool:
        return self.chat_type in GROUP_TYPES

    def without_reply(self) -> "ReplyTarget":
        return replace(self, reply_to=None)

    def kwargs(self, *, reply: bool = True) -> dict[str, Any]:
        """Keyword arguments for a Bot send method."""
        values: dict[str, Any] = {}
        if self.thread_id is not None:
            values["message_thread_id"] = self.thread_id
        if reply and self.reply_to is not None:
            values["reply_parameters"] = ReplyParameters(message_id=self.reply_to, allow_sending_without_reply=True)
        return values

    def apply(self, method: TelegramMethod[Any]) -> None:
        """Fill in the topic and the reply of a send to this target's chat, unless the caller chose them."""
        if not isinstance(method, (*_REPLYING_SENDS, SendChatAction)):
            return
        if _same_chat(getattr(method, "chat_id", None), self.chat_id) is False:
            return  # another chat (a private /export, a digest): its own rules
        if self.thread_id is not None and getattr(method, "message_thread_id", None) is None:
            method.message_thread_id = self.thread_id
        if isinstance(method, _REPLYING_SENDS) and self.reply_to is not None and \
                getattr(method, "reply_parameters", None) is None and \
                getattr(method, "reply_to_message_id", None) is None:
            method.reply_parameters = ReplyParameters(message_id=self.reply_to, allow_sending_without_reply=True)


def _same_chat(chat_id: int | str | None, target: int) -> bool:
    try:
        return chat_id is not None and int(chat_id) == target
    except (TypeError, ValueError):
        return False  # an @channel username: never the chat of a command


class ReplyTargetMiddleware(BaseMiddleware):
    """Outer update middleware: captures the reply target of the update (message or button press)."""

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        source: TelegramObject | None = event
        if isinstance(event, Update):
            source = event.message or event.edited_message or event.callback_query or event.channel_post
        target = ReplyTarget.of_event(source) if source is not None else None
        data["reply_target"] = target
        with scoped(target=target):
            return await handler(event, data)


@asynccontextmanager
async def reply_target(target: ReplyTarget | None) -> AsyncIterator[None]:
    """Send as if answering `target` (work that does not run inside the update, e.g. a job resumed later)."""
    with scoped(target=target):
        yield


class Replier:
    """Explicit sends to a target: for code that runs outside the update's context or needs the Message back."""

    def __init__(self, bot: Bot, target: ReplyTarget):
        self.bot, self.target = bot, target

    async def text(self, markup: str, **kwargs: Any) -> list[Message]:
        """As many messages as the 4096 limit needs (each replies to the command), the keyboard on the last."""
        chunks = split_message(markup) or ["…"]
        keyboard = kwargs.pop("reply_markup", None)
        sent = []
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            sent.append(await self.bot.send_message(self.target.chat_id, chunk,
                                                    reply_markup=keyboard if last else None,
                                                    **self.target.kwargs(), **kwargs))
        return sent

    async def photo(self, photo: InputFile | str, **kwargs: Any) -> Message:
        return await self.bot.send_photo(self.target.chat_id, photo, **self.target.kwargs(), **kwargs)

    async def document(self, document: InputFile | str, **kwargs: Any) -> Message:
        return await self.bot.send_document(self.target.chat_id, document, **self.target.kwargs(), **kwargs)

    async def album(self, media: Sequence[InputMediaPhoto]) -> list[Message]:
        """Albums of at most 10 photos, each replying to the command."""
        sent: list[Message] = []
        for start in range(0, len(media), 10):
            sent += await self.bot.send_media_group(self.target.chat_id, list(media[start:start + 10]),
                                                    **self.target.kwargs())
        return sent

    async def edit(self, message_id: int, markup: str, **kwargs: Any) -> Message | bool:
        return await self.bot.edit_message_text(markup, chat_id=self.target.chat_id, message_id=message_id,
                                                **kwargs)

    def action(self, action: str = "typing") -> ChatActionSender:
        return ChatActionSender(bot=self.bot, chat_id=self.target.chat_id, message_thread_id=self.target.thread_id,
                                action=action, interval=4.5)


async def answer_long(message: Message, markup: str, **kwargs: Any) -> list[Message]:
    """Answer with as many messages as the 4096 limit needs, in the message's topic, the first replying to it
    in groups; keyboards go on the last one."""
    bot = message.bot
    if bot is None:  # a Message not bound to a Bot (built by hand)
        raise RuntimeError("answer_long needs a message bound to a Bot")
    return await Replier(bot, ReplyTarget.of(message)).text(markup, **kwargs)


async def send_long(bot: Bot, chat_id: int, markup: str, **kwargs: Any) -> list[Message]:
    chunks = split_message(markup) or ["…"]
    markup_kw = kwargs.pop("reply_markup", None)
    return [await bot.send_message(chat_id, chunk, reply_markup=markup_kw if i == len(chunks) - 1 else None, **kwargs)
            for i, chunk in enumerate(chunks)]


@asynccontextmanager
async def chat_action(bot: Bot, chat_id: int, action: str = "typing") -> AsyncIterator[None]:
    """Keep a chat action ("typing", "upload_photo") visible while the work inside runs, in the asking topic."""
    target = current_scope().target
    thread = target.thread_id if target is not None and target.chat_id == chat_id else None
    async with ChatActionSender(bot=bot, chat_id=chat_id, message_thread_id=thread, action=action, interval=4.5):
        yield


async def edit_or_send(query: CallbackQuery, markup: str, **kwargs: Any) -> None:
    """Edit the message a button belongs to; a message older than 48 h (or deleted) arrives as an
    InaccessibleMessage that cannot be edited, so the answer then comes as a new message."""
    if isinstance(query.message, Message):
        await query.message.edit_text(markup, **kwargs)
    elif query.message is not None and query.bot is not None:
        await query.bot.send_message(query.message.chat.id, markup, **kwargs)
