"""Arbitrary update JSON through the real webhook (aiohttp on loopback, the durable inbox, the dispatcher, the fake
Bot API): Telegram-shaped objects with random fields and values (NaN, Infinity, huge and negative numbers, lone
surrogates, NUL, unknown kinds, wrong types). Every POST is answered below 500 (200 stored, 400 refused with a
reason), the inbox drains, and nothing is logged at ERROR or with a traceback. ~200 cases by default, 10,000
under `-m slow`."""
import asyncio
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.jsonlog import cap_third_party
from fakes.botapi import FakeBotAPI
from tests.webhook import SECRET, webhook_bot

KINDS = ["message", "edited_message", "channel_post", "edited_channel_post", "callback_query", "inline_query",
         "my_chat_member", "chat_member", "poll", "poll_answer", "message_reaction", "chat_join_request",
         "brand_new", "business_message", "purchased_paid_media"]
TEXTS = st.one_of(st.text(max_size=60), st.sampled_from(
    ["/start", "/help", "/history", "/history ٣", "/lang xx", "/ ", "/\u3000", "/", "/export", "/subscribe",
     "/forget", "/sources", "/submit arXiv:٢٤٠٨.٠٦٥١٨", "\ud800", "a\x00b", "/help@other_bot"]))
NUMBERS = st.one_of(st.integers(-(2 ** 70), 2 ** 70), st.integers(-5, 5),
                    st.floats(allow_nan=True, allow_infinity=True))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=20))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                    max_leaves=8)
IDS = st.one_of(st.integers(1, 2 ** 40), st.integers(-(2 ** 52), -1), st.sampled_from([0, 2 ** 63, -(2 ** 63) - 1]))


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, JSON)  # usually the right type, sometimes anything


def user() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"id": _maybe(IDS), "is_bot": _maybe(st.booleans()),
                                  "first_name": _maybe(st.text(max_size=20))},
                                 optional={"username": st.text(max_size=20), "language_code": st.text(max_size=5)})


def chat() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"id": _maybe(IDS), "type": _maybe(st.sampled_from(
        ["private", "group", "supergroup", "channel", "sender", "weird"]))},
        optional={"title": st.text(max_size=20), "is_forum": st.booleans()})


def message() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"message_id": _maybe(IDS), "date": _maybe(st.integers(0, 2 ** 34)), "chat": _maybe(chat())},
        optional={"from": user(), "text": TEXTS, "caption": TEXTS, "message_thread_id": NUMBERS,
                  "is_topic_message": st.booleans(), "entities": st.lists(st.fixed_dictionaries(
                      {"type": st.sampled_from(["bot_command", "mention", "bold", "x"]), "offset": NUMBERS,
                       "length": NUMBERS}), max_size=2), "extra": JSON})


def event() -> st.SearchStrategy[Any]:
    callback = st.fixed_dictionaries({"id": _maybe(st.text(max_size=10)), "from": _maybe(user()),
                                      "chat_instance": st.text(max_size=5)},
                                     optional={"message": message(), "data": _maybe(st.one_of(
                                         st.text(max_size=40), st.sampled_from(
                                             ["forget:1:yes", "forget:1:1", "hist:1:0:5:0", "hist:1:3:2:-5"])))})
    return st.one_of(message(), callback, st.dictionaries(st.text(max_size=10), JSON, max_size=4), JSON)


def updates() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda update_id, kind, body, extra: {"update_id": update_id, kind: body, **extra},
                     _maybe(st.integers(0, 2 ** 40)), st.sampled_from(KINDS), event(),
                     st.dictionaries(st.text(max_size=8).filter(lambda key: key != "update_id"), JSON, max_size=2))


class Errors(logging.Handler):
    """Every record at ERROR and above, and every record with a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


class Server:
    """The webhook bot in an event loop of its own (a thread), so hypothesis drives it with plain blocking POSTs."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="webhook-fuzz", daemon=True)

    def run(self, coroutine: Any, timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> "Server":
        self.thread.start()
        self.fake = self.run(FakeBotAPI().start())
        self.context = webhook_bot(self.fake, self.database_url)
        self.bot = self.run(self.context.__aenter__())
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.run(self.context.__aexit__(None, None, None))
            self.run(self.fake.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    def post(self, body: dict[str, Any]) -> int:
        raw = json.dumps(body, allow_nan=True).encode()  # NaN/Infinity as Python writes them; surrogates escaped
        request = urllib.request.Request(self.bot.url + "/tg/hook", data=raw, method="POST", headers={
            "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)


@contextmanager
def fuzzing(tmp_path) -> Iterator[tuple[Server, Errors]]:
    cap_third_party()
    errors = Errors()
    root = logging.getLogger()
    root.addHandler(errors)
    try:
        with Server(f"sqlite+aiosqlite:///{tmp_path / 'fuzz.sqlite3'}") as server:
            yield server, errors
            server.run(server.bot.inbox.drain(timeout=120), timeout=180)
    finally:
        root.removeHandler(errors)


def _run(tmp_path, examples: int) -> None:
    statuses: dict[int, int] = {}
    with fuzzing(tmp_path) as (server, errors):
        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(updates())
        def post(body: dict[str, Any]) -> None:
            status = server.post(body)
            statuses[status] = statuses.get(status, 0) + 1
            assert status < 500, (status, body)

        post()
    assert set(statuses) <= {200, 400}, statuses
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0, statuses  # both paths were exercised
    shown = [f"{r.name} {r.levelname}: {r.getMessage()[:200]}" for r in errors.records]
    assert not shown, "\n".join(shown[:20])


def test_arbitrary_updates_through_the_webhook(tmp_path):
    _run(tmp_path, 200)


@pytest.mark.slow
@pytest.mark.bench
def test_arbitrary_updates_through_the_webhook_10k(tmp_path):
    _run(tmp_path, 10_000)
