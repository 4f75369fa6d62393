"""The one "webhook bot over the fake Bot API" of the tests, and the one builder of update JSON.

`message_update(...)` is an Update as Telegram posts it. `webhook_bot(fake, database_url, **settings)` runs the real
runtime and webhook server on a loopback port against the fake Bot API (fakes/botapi.py); the `make_webhook_bot`
fixture (tests/conftest.py) gives a fresh process over the same database and fake each time it is entered."""
import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import EllipsisType
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from bot.app import create_bot
from bot.config import AppSettings
from bot.runtime import Runtime, runtime
from bot.transports.inbox import Inbox
from bot.transports.telegram import INBOX, build_webhook_app
from fakes.botapi import FakeBotAPI
from storage.schema.core import HistoryEntry

TOKEN = "123456:AAHwebhookTestTokenSecretPart_0123456"
SECRET = "webhook-secret_42"
WEBHOOK_URL = "https://bot.example.org/tg/hook"
WAIT_S = 10.0
# Far above the ids tests choose themselves (update_id=77, …): one counter for every test of the run.
_update_ids = itertools.count(1_000_000)


def message_update(text: str, *, user_id: int, update_id: int | None = None, message_id: int | None = None,
                   chat_id: int | None = None, chat_type: str = "private", lang: str | None = "en",
                   first_name: str = "Ada", chat: dict[str, Any] | None = None, sender: dict[str, Any] | None = None,
                   **message: Any) -> dict[str, Any]:
    """An Update with a text message as Telegram posts it: a command gets its bot_command entity, an @mention its
    mention entity. `chat`/`sender` replace the chat and `from` objects; `message` adds fields (a topic, a reply)."""
    update_id = update_id if update_id is not None else next(_update_ids)
    if chat is None:
        chat = {"id": chat_id if chat_id is not None else user_id, "type": chat_type}
        chat.update({"first_name": first_name} if chat_type == "private" else {"title": "Group"})
    if sender is None:
        sender = {"id": user_id, "is_bot": False, "first_name": first_name}
        if lang is not None:
            sender["language_code"] = lang
    entities = []
    if text.startswith("/"):
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    elif "@" in text:
        start = text.index("@")
        entities = [{"type": "mention", "offset": start, "length": len(text[start:].split()[0])}]
    body: dict[str, Any] = {"message_id": message_id if message_id is not None else update_id,
                            "date": int(time.time()), "text": text, "chat": chat, "from": sender}
    if entities:
        body["entities"] = entities
    return {"update_id": update_id, "message": {**body, **message}}


@dataclass
class WebhookBot:
    """A webhook bot on a loopback port, its runtime, and the fake Bot API it talks to."""

    fake: FakeBotAPI
    rt: Runtime
    app: web.Application
    url: str  # http://127.0.0.1:port
    http: aiohttp.ClientSession
    secret: str = SECRET

    @property
    def inbox(self) -> Inbox:
        return self.app[INBOX]

    async def post(self, body: Any, *, raw: bytes | None = None, secret: str | None | EllipsisType = ...) -> int:
        """POST an update (or `raw` bytes) to the webhook; the HTTP status. By default with the bot's secret;
        `secret=None` sends no secret header."""
        secret = self.secret if secret is ... else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if isinstance(secret, str) else {}
        if raw is not None:
            headers["Content-Type"] = "application/json"
        async with self.http.post(self.url + "/tg/hook", headers=headers,
                                  **({"data": raw} if raw is not None else {"json": body})) as response:
            await response.read()
            return response.status

    async def readyz(self) -> tuple[int, dict[str, Any]]:
        async with self.http.get(self.url + "/readyz") as response:
            return response.status, await response.json()

    def sent_to(self, chat_id: int) -> list[Any]:
        """Every sendMessage call to the chat (failed attempts included)."""
        return [call for call in self.fake.calls_to("sendMessage") if int(call.params["chat_id"]) == chat_id]

    def replies_to(self, chat_id: int) -> int:
        return len(self.sent_to(chat_id))

    def texts_to(self, chat_id: int) -> list[str]:
        """The texts Telegram accepted for the chat."""
        return [str(call.params.get("text")) for call in self.sent_to(chat_id) if call.status == 200]

    async def wait_for(self, predicate: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; calls: "
                                     f"{[(c.method, c.status) for c in self.fake.calls]}")
            await asyncio.sleep(0.01)

    async def say(self, text: str, *, user_id: int, lang: str = "en", replies: int = 1) -> list[Any]:
        """POST one update with the right secret and wait until `replies` sendMessage calls reached its chat."""
        before = len(self.sent_to(user_id))
        assert await self.post(message_update(text, user_id=user_id, lang=lang)) == 200
        await self.wait_for(lambda: len(self.sent_to(user_id)) >= before + replies, f"the reply to {text!r}")
        return self.sent_to(user_id)[before:]

    async def history(self, user_id: int, expect: int | None = None) -> list[HistoryEntry]:
        """The user's history; with `expect`, waits (up to 20 s on a busy machine) for that many rows: the webhook
        answers Telegram once the update is stored, and its transaction commits after the reply has gone out."""
        for _ in range(400):
            async with self.rt.sessionmaker() as session:
                query = select(HistoryEntry).where(HistoryEntry.user_id == user_id).order_by(HistoryEntry.id)
                rows = list((await session.scalars(query)).all())
            if expect is None or len(rows) >= expect:
                return rows
            await asyncio.sleep(0.05)
        return rows

    async def statuses(self, user_id: int) -> list[str]:
        return [entry.status for entry in await self.history(user_id)]

    async def history_count(self, user_id: int) -> int:
        async with self.rt.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(HistoryEntry)
                                             .where(HistoryEntry.user_id == user_id)) or 0)


@asynccontextmanager
async def webhook_bot(fake: FakeBotAPI, database_url: str, *, token: str = TOKEN, secret: str = SECRET,
                      with_models: bool = False, **settings: Any) -> AsyncIterator[WebhookBot]:
    """A bot process: the runtime (a model hub with `with_models`), the webhook app (its start-up registers the
    webhook and commands with the fake API) on a loopback port, and an HTTP client for posting updates."""
    values: dict[str, Any] = dict(bot_token=token, telegram_api_base=fake.base_url, database_url=database_url,
                                  webhook_url=WEBHOOK_URL, webhook_secret=secret, digest_scheduler="off")
    values.update(settings)
    config = AppSettings.load(env_file=None, **values)
    async with runtime(config, with_models=with_models) as rt:
        app = build_webhook_app(create_bot(config.bot), rt.dispatcher, config.bot)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        async with aiohttp.ClientSession() as http:
            try:
                yield WebhookBot(fake, rt, app, f"http://127.0.0.1:{runner.addresses[0][1]}", http, secret)
            finally:
                await runner.cleanup()


def remote_models(base_url: str, key_env: str) -> dict[str, Any]:
    """Settings for a text model and an embedder served by one fake OpenAI-compatible server (no retries)."""
    from models.config import RemoteModel

    remote = {"remote-text": RemoteModel(base_url=base_url, model="llama", api_key_env=key_env, timeout_s=30,
                                         retries=0),
              "remote-embed": RemoteModel(base_url=base_url, model="bge-m3", kind="embedder", api_key_env=key_env,
                                          timeout_s=30, retries=0)}
    return dict(remote_models=remote, default_text_model="remote-text", default_embedder="remote-embed")
