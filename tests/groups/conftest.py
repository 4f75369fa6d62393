"""Group-chat tests through the real Dispatcher and the fake Bot API over HTTP (fakes/botapi.py): updates are the
JSON Telegram posts (forum supergroups with topics, replies), and what the bot did is read from the calls the fake
API recorded."""
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_bot, create_dispatcher
from bot.config import AppSettings
from fakes.botapi import Call, FakeBotAPI
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade
from tests.webhook import message_update

TOKEN = "123456:AAHfakeGroupsTokenSecretPart_0123456"
BOT_ADMIN = 99
CHAT_ADMIN = 50
MEMBER = 60
GROUP = -1001234567890
TOPIC = 77
SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "sendChatAction")


class GroupBotAPI(FakeBotAPI):
    """The fake Bot API with chat admins (getChatMember answers "creator" for them) and private chats the bot may
    not write to (403 until the user starts the bot)."""

    def __init__(self) -> None:
        super().__init__()
        self.admins: dict[int, set[int]] = {}

    async def _params(self, request: web.Request) -> dict[str, Any]:
        """As the base class, and uploaded files keep their bytes (`content`), so tests can read a document."""
        params = await super()._params(request)
        if request.content_type != "application/json":
            for key, value in (await request.post()).items():  # aiohttp caches the parsed form
                if hasattr(value, "file") and isinstance(params.get(key), dict):
                    value.file.seek(0)
                    params[key]["content"] = value.file.read()
        return params

    def uploaded(self, call: Call) -> dict[str, Any]:
        """The file a send call uploaded: {"filename", "size", "content"}."""
        [file] = [value for value in call.params.values() if isinstance(value, dict) and "content" in value]
        return file

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getChatMember":
            chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
            user = {"id": user_id, "is_bot": False, "first_name": "Someone"}
            if user_id in self.admins.get(chat_id, set()):
                return {"status": "creator", "user": user, "is_anonymous": False}
            return {"status": "member", "user": user}
        return super()._result(method, params)


@dataclass
class Person:
    id: int
    first_name: str = "Ada"
    username: str | None = None
    lang: str = "en"

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name,
                                "language_code": self.lang}
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class GroupBot:
    fake: GroupBotAPI
    bot: Bot
    dp: Dispatcher
    sessionmaker: async_sessionmaker[AsyncSession]
    config: AppSettings
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def message(self, text: str, user: Person, *, chat_id: int = GROUP, thread: int | None = TOPIC,
                reply_to: dict[str, Any] | None = None, message_id: int | None = None) -> dict[str, Any]:
        """A message Update as Telegram posts it. In a forum topic (`thread`) Telegram marks it is_topic_message
        and, without an explicit reply, makes it reply to the topic's creation message."""
        update_id = next(self._ids)
        mid = message_id if message_id is not None else 1000 + update_id
        if chat_id > 0:
            chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": user.first_name}
        else:
            chat = {"id": chat_id, "type": "supergroup", "title": "ML papers", "is_forum": thread is not None}
        extra: dict[str, Any] = {}
        if thread is not None and chat_id < 0:
            extra["message_thread_id"] = thread
            extra["is_topic_message"] = True
            extra["reply_to_message"] = reply_to or {
                "message_id": thread, "date": int(time.time()), "chat": chat, "message_thread_id": thread,
                "forum_topic_created": {"name": "Papers", "icon_color": 7322096}}
        elif reply_to is not None:
            extra["reply_to_message"] = reply_to
        return message_update(text, user_id=user.id, update_id=update_id, message_id=mid, chat=chat,
                              sender=user.json(), **extra)

    def replied(self, text: str, author: Person, *, chat_id: int = GROUP, thread: int | None = TOPIC,
                message_id: int = 555) -> dict[str, Any]:
        """A message someone else wrote earlier, as it appears inside `reply_to_message`."""
        chat = {"id": chat_id, "type": "supergroup", "title": "ML papers", "is_forum": thread is not None}
        data: dict[str, Any] = {"message_id": message_id, "date": int(time.time()), "chat": chat,
                                "from": author.json(), "text": text}
        if thread is not None:
            data["message_thread_id"], data["is_topic_message"] = thread, True
        return data

    async def feed(self, update: dict[str, Any]) -> list[Call]:
        first = len(self.fake.calls)
        await self.dp.feed_raw_update(self.bot, update)
        return [call for call in self.fake.calls[first:] if call.method != "getMe"]

    async def send(self, text: str, user: Person, **kwargs: Any) -> list[Call]:
        return await self.feed(self.message(text, user, **kwargs))

    async def press(self, call: Call, button: int, user: Person, *, chat_id: int = GROUP,
                    thread: int | None = TOPIC, message_id: int = 4242) -> list[Call]:
        """Press an inline button of a message the bot sent (found in the recorded call)."""
        markup = call.params["reply_markup"]
        buttons = [b for row in markup["inline_keyboard"] for b in row]
        chat = {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private", "title": "ML papers"} \
            if chat_id < 0 else {"id": chat_id, "type": "private", "first_name": user.first_name}
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()), "chat": chat,
                                   "from": {"id": self.fake.bot_id, "is_bot": True, "first_name": "bot"},
                                   "text": call.params.get("text") or "", "reply_markup": markup}
        if thread is not None and chat_id < 0:
            message["message_thread_id"], message["is_topic_message"] = thread, True
        update_id = next(self._ids)
        update = {"update_id": update_id, "callback_query": {
            "id": str(update_id), "from": user.json(), "chat_instance": "ci", "message": message,
            "data": buttons[button]["callback_data"]}}
        return await self.feed(update)


def plain(text: str) -> str:
    """Text without the bidi isolates the translator puts around interpolated values."""
    return text.replace("\u2068", "").replace("\u2069", "")


def sends(calls: list[Call], *methods: str) -> list[Call]:
    return [call for call in calls if call.method in (methods or SEND_METHODS)]


def assert_in_topic_as_reply(calls: list[Call], command_message_id: int, *, chat_id: int = GROUP,
                             thread: int = TOPIC) -> None:
    """Every send to the group went to the asking topic; every message replies to the command."""
    to_group = [call for call in sends(calls) if int(call.params["chat_id"]) == chat_id]
    assert to_group, [c.method for c in calls]
    for call in to_group:
        assert call.params.get("message_thread_id") == thread, (call.method, call.params)
        if call.method != "sendChatAction":
            reply = call.params.get("reply_parameters")
            assert reply is not None, (call.method, call.params)
            assert reply["message_id"] == command_message_id and reply["allow_sending_without_reply"] is True


@pytest.fixture
async def make_group_bot(tmp_path, sqlite_url):
    made: list[tuple[GroupBotAPI, Bot, AsyncEngine]] = []

    async def factory(*, hub: Any = None, database_url: str | None = None, **overrides: Any) -> GroupBot:
        fake = await GroupBotAPI().start()
        values: dict[str, Any] = dict(database_url=database_url or sqlite_url, admin_ids=frozenset({BOT_ADMIN}),
                                      bot_token=TOKEN, telegram_api_base=fake.base_url,
                                      console_output_dir=tmp_path / "out", quota_user_requests=1000,
                                      quota_chat_requests=1000)
        values.update(overrides)
        config = AppSettings.load(env_file=None, **values)
        engine = create_engine(config.bot.database_url)
        await upgrade(engine)
        bot = create_bot(config.bot)
        made.append((fake, bot, engine))
        sessionmaker = create_sessionmaker(engine)
        dp = create_dispatcher(config, sessionmaker, hub)
        fake.admins[GROUP] = {CHAT_ADMIN}
        return GroupBot(fake, bot, dp, sessionmaker, config)

    yield factory
    for fake, bot, engine in made:
        await bot.session.close()
        await fake.stop()
        await engine.dispose()


@pytest.fixture
async def group_bot(make_group_bot) -> GroupBot:
    return await make_group_bot()
