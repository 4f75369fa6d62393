"""A fake Telegram Bot API server on loopback.

Speaks `POST /bot<token>/<method>` with form or JSON bodies like api.telegram.org, records every call, answers with
realistic JSON, and can misbehave on purpose: scripted failures (429 with retry_after, 400, 403, 5xx), chats that
blocked the bot (403), Telegram's flood limits (messages per second overall, per chat, per group per minute), and
faults for a share of calls (`inject`): 502, 429 with retry_after (the call changes nothing), or a hang past the
client's timeout (by default after the call was carried out: a message is delivered but its answer comes too late,
the case in which sending again would show it twice; `hang_delivers=False` hangs before, and nothing happens).

    python -m fakes.botapi --port 8081      # then TELEGRAM_API_BASE=http://127.0.0.1:8081
"""
import argparse
import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from fakes.server import LoopbackServer

# Form fields that carry the user's text verbatim; every other field is JSON-decoded when it parses (aiogram sends
# objects, lists, numbers and booleans JSON-encoded).
PLAIN_TEXT_FIELDS = {"text", "caption", "question", "title", "description", "short_description", "secret_token"}
SEND_METHODS = {"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "sendAnimation", "copyMessage",
                "forwardMessage"}


@dataclass
class Call:
    token: str
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class FloodLimits:
    """Telegram's documented limits; None turns one off."""
    per_second: float | None = None  # all chats together (Telegram: about 30)
    per_chat_per_second: float | None = None  # one chat (Telegram: about 1)
    per_group_per_minute: int | None = None  # one group (Telegram: 20)
    retry_after: int = 1


class FakeBotAPI(LoopbackServer):
    def __init__(self, *, bot_id: int = 42, username: str = "paper_demo_bot", limits: FloodLimits | None = None,
                 latency_s: float = 0.0):
        self.bot_id, self.username = bot_id, username
        self.limits = limits or FloodLimits()
        self.latency_s = latency_s
        self.calls: list[Call] = []
        self.failures: dict[str, deque[Failure]] = defaultdict(deque)
        self.random_429_rate = 0.0
        self.fault: str | None = None  # "502", "429" or "hang" for a share `fault_rate` of calls (see inject)
        self.fault_rate = 0.0
        self.fault_retry_after = 1
        self.hang_s = 30.0
        self.hang_delivers = True
        self.faulted = 0
        self.blocked_chats: set[int] = set()
        self.delivered: list[tuple[int, str]] = []  # (chat_id, text) of every message actually accepted
        self._message_ids = itertools.count(1)
        self._sent_all: deque[float] = deque()
        self._sent_chat: dict[int | None, deque[float]] = defaultdict(deque)  # None: a send without chat_id
        self._rng = __import__("random").Random(0)
        self._fault_rng = __import__("random").Random(1)
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self.app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)

    # --- scripting ---
    def fail_next(self, method: str, status: int, description: str = "", retry_after: int | None = None,
                  times: int = 1) -> None:
        for _ in range(times):
            self.failures[method].append(Failure(status, description or _default_description(status), retry_after))

    def inject(self, fault: str | None, rate: float = 0.0, *, retry_after: int = 1, hang_s: float = 30.0,
               hang_delivers: bool = True) -> None:
        """From now on, a share `rate` of calls (every method but getMe) fails with `fault`: "502" (Bad Gateway),
        "429" (flood control with `retry_after`), or "hang" (no answer for `hang_s`; carried out first when
        `hang_delivers`, else not at all and answered 504). None stops it."""
        if fault not in (None, "502", "429", "hang"):
            raise ValueError(f"unknown fault {fault!r}")
        self.fault, self.fault_rate, self.fault_retry_after, self.hang_s = fault, rate, retry_after, hang_s
        self.hang_delivers = hang_delivers

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    # --- server ---
    @property
    def base_url(self) -> str:
        return self.origin


    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):  # an uploaded file
                params[key] = {"filename": value.filename, "size": len(value.file.read())}
                continue
            if key in PLAIN_TEXT_FIELDS:  # a message "42", "null" or "[1]" is text, not JSON
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except (TypeError, ValueError):
                params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        call = Call(request.match_info["token"], method, params, time.monotonic())
        self.calls.append(call)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        failure = self._injected(method)
        if failure is not None and failure.status == 504:
            if self.hang_delivers and self._failure_for(method, params) is None:
                result = self._result(method, params)  # carried out; the answer comes after the client gave up
                await asyncio.sleep(self.hang_s)
                return web.json_response({"ok": True, "result": result})
            call.status = 504
            await asyncio.sleep(self.hang_s)  # the client gives up first; nothing was delivered
        failure = failure or self._failure_for(method, params)
        if failure is not None:
            call.status = failure.status
            body: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        return web.json_response({"ok": True, "result": self._result(method, params)})

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(body=b"file", content_type="application/octet-stream")

    def _injected(self, method: str) -> Failure | None:
        if self.fault is None or method == "getMe" or self._fault_rng.random() >= self.fault_rate:
            return None
        self.faulted += 1
        if self.fault == "502":
            return Failure(502, "Bad Gateway")
        if self.fault == "429":
            return Failure(429, f"Too Many Requests: retry after {self.fault_retry_after}", self.fault_retry_after)
        return Failure(504, "Gateway Timeout")

    def _failure_for(self, method: str, params: dict[str, Any]) -> Failure | None:
        if self.failures[method]:
            return self.failures[method].popleft()
        if method not in SEND_METHODS:
            return None
        chat_id = _int(params.get("chat_id"))
        if chat_id in self.blocked_chats:
            return Failure(403, "Forbidden: bot was blocked by the user")
        if self.random_429_rate and self._rng.random() < self.random_429_rate:
            return Failure(429, "Too Many Requests: retry after 1", 1)
        return self._flood(chat_id)

    def _flood(self, chat_id: int | None) -> Failure | None:
        now, limits = time.monotonic(), self.limits
        while self._sent_all and now - self._sent_all[0] > 1.0:
            self._sent_all.popleft()
        per_chat = self._sent_chat[chat_id]
        while per_chat and now - per_chat[0] > 60.0:
            per_chat.popleft()
        too_many = (
            (limits.per_second is not None and len(self._sent_all) >= limits.per_second)
            or (limits.per_chat_per_second is not None
                and sum(1 for t in per_chat if now - t <= 1.0) >= limits.per_chat_per_second)
            or (limits.per_group_per_minute is not None and chat_id is not None and chat_id < 0
                and len(per_chat) >= limits.per_group_per_minute)
        )
        if too_many:
            return Failure(429, f"Too Many Requests: retry after {limits.retry_after}", limits.retry_after)
        self._sent_all.append(now)
        per_chat.append(now)
        return None

    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Paper demo bot", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    def _message(self, params: dict[str, Any], **extra) -> dict[str, Any]:
        chat_id = _int(params.get("chat_id")) or 0
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = "Group"
        else:
            chat["first_name"] = "User"
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                   "from": self._bot_user()}
        if params.get("text") is not None:
            message["text"] = str(params["text"])
        if params.get("caption") is not None:
            message["caption"] = str(params["caption"])
        if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
            message["reply_markup"] = params["reply_markup"]
        message.update(extra)
        return message

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return self._bot_user()
        if method in ("sendMessage", "copyMessage", "forwardMessage"):
            self.delivered.append((_int(params.get("chat_id")) or 0, str(params.get("text", ""))))
            return self._message(params)
        if method == "sendPhoto":
            return self._message(params, photo=[{"file_id": f"p{len(self.calls)}", "file_unique_id": "u",
                                                 "width": 512, "height": 512}])
        if method == "sendDocument":
            return self._message(params, document={"file_id": f"d{len(self.calls)}", "file_unique_id": "u"})
        if method == "sendMediaGroup":
            media = params.get("media") or []
            return [self._message(params, caption=item.get("caption"),
                                  photo=[{"file_id": f"p{len(self.calls)}-{i}", "file_unique_id": "u",
                                          "width": 512, "height": 512}]) for i, item in enumerate(media)]
        if method in ("editMessageText", "editMessageCaption", "editMessageReplyMarkup"):
            if params.get("inline_message_id"):
                return True
            return self._message(params) | {"message_id": _int(params.get("message_id")) or 0}
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        if method == "getUpdates":
            return []
        if method == "getChatMember":
            return {"status": "member", "user": {"id": _int(params.get("user_id")) or 0, "is_bot": False,
                                                  "first_name": "Member"}}
        if method == "getChatAdministrators":
            return []
        return True


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _default_description(status: int) -> str:
    return {400: "Bad Request: message text is empty", 403: "Forbidden: bot was blocked by the user",
            429: "Too Many Requests: retry after 1", 500: "Internal Server Error",
            502: "Bad Gateway"}.get(status, "Error")


async def _serve(port: int) -> None:
    server = await FakeBotAPI().start(port)
    print(f"fake Bot API on {server.base_url}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8081)
    asyncio.run(_serve(parser.parse_args().port))
