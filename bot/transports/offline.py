"""A Bot API that lives in this process, and a driver that turns typed lines into real Updates.

`RecordingSession` answers every Bot API call the way Telegram would (a Message for sendMessage, True for
sendChatAction, …) and records it; the console transport prints those calls, the tests assert on them. The
Dispatcher, middlewares and database are the real ones."""
import contextvars
import itertools
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.enums import InputMediaType
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    GetChatAdministrators,
    GetChatMember,
    GetFile,
    GetMe,
    SendMediaGroup,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    Chat,
    ChatMemberMember,
    ChatMemberOwner,
    Document,
    File,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    PhotoSize,
    Update,
    User,
)

from chatkit.parsing import clean_text

current_update: contextvars.ContextVar[int | None] = contextvars.ContextVar("current_update", default=None)
FILE_FIELDS = ("photo", "document", "animation", "video", "audio", "voice")


def _now() -> datetime:
    # Whole seconds in UTC, as Telegram stamps messages (and as pydantic reads the Bot API's integer dates).
    return datetime.fromtimestamp(int(time.time()), UTC)


@dataclass
class RecordedCall:
    method: TelegramMethod[Any]
    result: Any
    update_id: int | None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.method.__api_method__

    @property
    def text(self) -> str | None:
        return getattr(self.method, "text", None) or getattr(self.method, "caption", None)


class RecordingSession(BaseSession):
    def __init__(self, bot_user: User, output_dir: Path | None = None, admin_ids: set[int] | None = None):
        super().__init__()
        self.bot_user = bot_user
        self.output_dir = output_dir
        self.calls: list[RecordedCall] = []
        self.chats: dict[int, Chat] = {}
        self.messages: dict[tuple[int, int], Message] = {}
        self.chat_admins = admin_ids or set()  # users who are admins of every group chat (for console demos)
        self._ids = itertools.count(1_000)
        self.update_ids = itertools.count(1)  # shared by every chat on this session: update ids are unique
        self.uploads: dict[str, bytes] = {}  # file_id -> content of the documents users "sent" (getFile, download)

    async def close(self) -> None:
        pass

    async def stream_content(self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
                             chunk_size: int = 65536, raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        # Only what a user "sent" here (OfflineChat.document_update) can be downloaded: its getFile path.
        file_id = url.rsplit("/uploads/", 1)[-1] if "/uploads/" in url else None
        if file_id is None or file_id not in self.uploads:
            raise RuntimeError("offline session: no such file")
        data = self.uploads[file_id]
        for start in range(0, len(data), chunk_size):
            yield data[start:start + chunk_size]

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        files = await self._save_files(bot, method)
        result = self.respond(method)
        call = RecordedCall(method, result, current_update.get(), files)
        self.calls.append(call)
        self.on_call(call)
        return result

    def on_call(self, call: RecordedCall) -> None:
        """Hook for the console printer."""

    # --- answers shaped like Telegram's ---
    def chat(self, chat_id: int | str) -> Chat:
        chat_id = int(chat_id)
        return self.chats.get(chat_id) or Chat(id=chat_id, type="private" if chat_id > 0 else "group")

    def _sent(self, method: TelegramMethod[Any]) -> Message:
        """The message a send* method creates; the send methods share these fields but no base class has them."""
        chat_id = getattr(method, "chat_id", None)
        if not isinstance(chat_id, int | str):
            raise ValueError(f"{method.__api_method__} has no chat_id")
        return self._message(chat_id, text=getattr(method, "text", None),
                             caption=getattr(method, "caption", None),
                             reply_markup=getattr(method, "reply_markup", None),
                             photo=getattr(method, "photo", None), document=getattr(method, "document", None))

    def _message(self, chat_id: int | str, *, text: str | None = None, caption: str | None = None,
                 reply_markup: object = None, photo: object = None, document: object = None) -> Message:
        chat = self.chat(chat_id)
        data: dict[str, Any] = dict(message_id=next(self._ids), date=_now(), chat=chat, from_user=self.bot_user)
        if text is not None:
            data["text"] = text
        if caption is not None:
            data["caption"] = caption
        if isinstance(reply_markup, InlineKeyboardMarkup):  # a reply keyboard is not part of the message
            data["reply_markup"] = reply_markup
        if photo is not None:
            data["photo"] = [PhotoSize(file_id=f"photo-{data['message_id']}", file_unique_id=f"u{data['message_id']}",
                                       width=512, height=512)]
        if document is not None:
            name = getattr(document, "filename", None)
            data["document"] = Document(file_id=f"doc-{data['message_id']}", file_unique_id=f"d{data['message_id']}",
                                        file_name=name)
        message = Message(**data)
        self.messages[(chat.id, message.message_id)] = message
        return message

    def respond(self, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, GetMe):
            return self.bot_user
        if isinstance(method, SendMediaGroup):
            return [self._message(method.chat_id, caption=getattr(media, "caption", None),
                                  photo=media.media if media.type == InputMediaType.PHOTO else None)
                    for media in method.media]
        if isinstance(method, (EditMessageText, EditMessageCaption, EditMessageReplyMarkup)):
            if method.inline_message_id:
                return True
            if method.chat_id is None or method.message_id is None:
                raise ValueError(f"{method.__api_method__} needs chat_id and message_id or inline_message_id")
            old = self.messages.get((int(method.chat_id), method.message_id))
            chat = old.chat if old else self.chat(method.chat_id)
            update: dict[str, Any] = {"reply_markup": getattr(method, "reply_markup", None)}
            if isinstance(method, EditMessageText):
                update["text"] = method.text
            if isinstance(method, EditMessageCaption):
                update["caption"] = method.caption
            base = old or Message(message_id=method.message_id, date=_now(), chat=chat, from_user=self.bot_user)
            message = base.model_copy(update=update)
            self.messages[(chat.id, message.message_id)] = message
            return message
        if isinstance(method, GetFile):
            if method.file_id not in self.uploads:
                raise ValueError(f"offline Bot API: no file {method.file_id}")
            return File(file_id=method.file_id, file_unique_id=f"u-{method.file_id}",
                        file_size=len(self.uploads[method.file_id]), file_path=f"uploads/{method.file_id}")
        if isinstance(method, GetChatMember):
            user = User(id=method.user_id, is_bot=False, first_name="member")
            if method.user_id in self.chat_admins:
                return ChatMemberOwner(user=user, is_anonymous=False)
            return ChatMemberMember(user=user)
        if isinstance(method, GetChatAdministrators):
            return [ChatMemberOwner(user=User(id=uid, is_bot=False, first_name="admin"), is_anonymous=False)
                    for uid in sorted(self.chat_admins)]
        if hasattr(method, "chat_id") and type(method).__name__.startswith("Send") and \
                type(method).__name__ != "SendChatAction":
            return self._sent(method)
        if method.__returning__ is bool or isinstance(method, AnswerCallbackQuery):
            return True
        raise NotImplementedError(f"offline Bot API does not implement {method.__api_method__}")

    async def _save_files(self, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Path]:
        saved: dict[str, Path] = {}
        items = [(name, getattr(method, name, None)) for name in FILE_FIELDS]
        if isinstance(method, SendMediaGroup):
            items += [(f"media{index}", media.media) for index, media in enumerate(method.media)]
        for name, value in items:
            if not isinstance(value, InputFile):
                continue
            data = b"".join([chunk async for chunk in value.read(bot)])
            if self.output_dir is not None:
                self.output_dir.mkdir(parents=True, exist_ok=True)
                filename = Path(value.filename or f"{name}.bin").name
                path = self.output_dir / f"{int(time.time() * 1000)}-{next(self._ids)}-{filename}"
                path.write_bytes(data)
                saved[name] = path
            else:
                saved[name] = Path(value.filename or name)
        return saved


@dataclass
class OfflineUser:
    id: int = 1
    first_name: str = "Console"
    language_code: str | None = "en"
    username: str | None = "console_user"


class OfflineChat:
    """Feeds real Updates to a Dispatcher as a given user in a given chat, and collects the bot's calls."""

    def __init__(self, dp: Dispatcher, bot: Bot, session: RecordingSession, *, user: OfflineUser | None = None,
                 chat_type: str = "private", chat_id: int | None = None, chat_title: str = "Console group"):
        self.dp, self.bot, self.session = dp, bot, session
        self.user = user or OfflineUser()
        self.chat_type = chat_type
        chat_id = chat_id if chat_id is not None else (self.user.id if chat_type == "private" else -100_000_001)
        title = None if chat_type == "private" else chat_title
        self.chat = Chat(id=chat_id, type=chat_type, title=title,
                         first_name=self.user.first_name if chat_type == "private" else None)
        session.chats[chat_id] = self.chat
        self._update_ids = session.update_ids
        self._message_ids = itertools.count(1)

    def tg_user(self) -> User:
        return User(id=self.user.id, is_bot=False, first_name=self.user.first_name,
                    username=self.user.username, language_code=self.user.language_code)

    def message_update(self, text: str, *, edited: bool = False) -> Update:
        # What the webhook strips from a body (NUL, lone surrogates: stdin decoded with surrogateescape yields
        # them for bytes that are not UTF-8) is stripped here too: the handlers see the same text either way.
        text = clean_text(text)
        message = Message(message_id=next(self._message_ids), date=_now(), chat=self.chat,
                          from_user=self.tg_user(), text=text)
        if edited:
            message = message.model_copy(update={"edit_date": int(time.time())})
            return Update(update_id=next(self._update_ids), edited_message=message)
        return Update(update_id=next(self._update_ids), message=message)

    def document_update(self, content: bytes, filename: str, *, caption: str | None = None,
                        reply_to: Message | None = None, file_size: int | None = None) -> Update:
        """A message with a document the user uploads (downloadable through getFile); `file_size` overrides the
        size Telegram reports."""
        file_id = f"upload-{next(self.session._ids)}"
        self.session.uploads[file_id] = content
        document = Document(file_id=file_id, file_unique_id=f"u-{file_id}", file_name=filename,
                            file_size=len(content) if file_size is None else file_size)
        message = Message(message_id=next(self._message_ids), date=_now(), chat=self.chat, from_user=self.tg_user(),
                          document=document, caption=caption, reply_to_message=reply_to)
        return Update(update_id=next(self._update_ids), message=message)

    def channel_post_update(self, text: str, *, chat_id: int = -100_777, title: str = "ML channel") -> Update:
        text = clean_text(text)
        chat = Chat(id=chat_id, type="channel", title=title)
        self.session.chats[chat_id] = chat
        post = Message(message_id=next(self._message_ids), date=_now(), chat=chat, text=text,
                       sender_chat=chat)
        return Update(update_id=next(self._update_ids), channel_post=post)

    def callback_update(self, message: Message, data: str | None) -> Update:
        query = CallbackQuery(id=str(next(self._update_ids)), from_user=self.tg_user(), chat_instance="console",
                              message=message, data=data)
        return Update(update_id=next(self._update_ids), callback_query=query)

    async def feed(self, update: Update) -> list[RecordedCall]:
        token = current_update.set(update.update_id)
        first = len(self.session.calls)
        try:
            await self.dp.feed_update(self.bot, update)
        finally:
            current_update.reset(token)
        return [call for call in self.session.calls[first:] if call.update_id == update.update_id]

    async def send(self, text: str) -> list[RecordedCall]:
        return await self.feed(self.message_update(text))

    async def press(self, message: Message, button: int | str) -> list[RecordedCall]:
        """Press an inline button by its position (0-based) or its text."""
        if message.reply_markup is None:
            raise ValueError("this message has no inline keyboard")
        buttons = [b for row in message.reply_markup.inline_keyboard for b in row]
        chosen = buttons[button] if isinstance(button, int) else next(b for b in buttons if b.text == button)
        return await self.feed(self.callback_update(message, chosen.callback_data))

    def last_keyboard_message(self) -> Message | None:
        """The latest message in this chat whose current version shows a keyboard (an edit may have removed it)."""
        for call in reversed(self.session.calls):
            result = call.result
            if isinstance(result, Message) and result.reply_markup is not None and result.chat.id == self.chat.id:
                current = self.session.messages.get((result.chat.id, result.message_id), result)
                if current.reply_markup is not None and getattr(current.reply_markup, "inline_keyboard", None):
                    return current
        return None
