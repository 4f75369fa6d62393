"""SIGTERM in long-polling mode, as a real `python -m bot run` child against a loopback Bot API whose getUpdates
behaves like Telegram's: the handler running at the signal finishes within SHUTDOWN_GRACE_S, the one still running at
the deadline is cut and given back, the confirmed updates not yet started stay in the durable inbox; the process
exits 0 in time, and the restarted process answers every confirmed update exactly once, with no traceback."""
import asyncio
import datetime
import signal
import time

import pytest
from aiohttp import web

from tests.core.test_inbox import PollingAPI
from tests.scale.roles_helpers import Child, free_port, wait_for_status, wait_until_up
from tests.webhook import message_update

# Two cold starts of the bot (torch and transformers imported each time): about 26 s on a quiet machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
QUIET_SOURCES = {"ARXIV_API_BASE": "http://127.0.0.1:9/api", "DIGEST_FEEDS": ""}
GRACE_S = 3.0
FIRST_USER = 7700


class SlowSendsAPI(PollingAPI):
    """sendMessage to the chats in `slow` takes that many seconds before Telegram acts on it, the way a loaded Bot
    API does; `started` records the chats whose slow send arrived (a handler is running now)."""

    def __init__(self, slow: dict[int, float]) -> None:
        super().__init__()
        self.slow, self.started = slow, set()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "sendMessage":
            chat = int((await self._params(request)).get("chat_id", 0))
            if chat in self.slow:
                self.started.add(chat)
                await asyncio.sleep(self.slow[chat])
        return await super()._handle(request)


def logged_seconds(output: str, start: str, end: str) -> float:
    """Seconds between the log lines holding `start` and `end` (their timestamps: "2026-01-01 12:00:00,123")."""
    def at(marker: str) -> datetime.datetime:
        line = next(line for line in output.splitlines() if marker in line)
        return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    return (at(end) - at(start)).total_seconds()


async def until(predicate, what: str, child: Child, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{child.output()[-3000:]}")
        await asyncio.sleep(0.05)


async def test_sigterm_while_polling_loses_nothing_confirmed_and_answers_nothing_twice(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    finishing, cut = FIRST_USER, FIRST_USER + 1  # 1.5 s: inside the grace; 6 s: past it
    users = [FIRST_USER + index for index in range(8)]
    async with SlowSendsAPI({finishing: 1.5, cut: 6.0}) as fake:
        port = free_port()
        env = {"DATABASE_URL": url, "TELEGRAM_API_BASE": fake.base_url, "METRICS_PORT": str(port),
               "SHUTDOWN_GRACE_S": str(GRACE_S), "INBOX_WORKERS": "2", "DIGEST_SCHEDULER": "off",
               **QUIET_SOURCES}
        base = f"http://127.0.0.1:{port}"
        sent = [message_update("/help", user_id=user) for user in users]
        last_id = max(update["update_id"] for update in sent)

        first = Child("run", env, tmp_path, name="first")
        try:
            await wait_until_up(first, base + "/healthz")
            await wait_for_status(base + "/readyz", 200)
            fake.queue.extend(sent)
            # Both slow sends are in flight (two workers: the other six wait in the inbox), and a getUpdates with
            # the next offset confirmed all eight to Telegram: from here on only the bot's database holds them.
            await until(lambda: fake.started == {finishing, cut}, "both slow sends", first)
            await until(lambda: any(o is not None and int(o) > last_id for o in fake.offsets), "the confirmation",
                        first)
            assert fake.queue == []
            signalled = time.monotonic()
            first.signal(signal.SIGTERM)
            code = await asyncio.to_thread(first.wait, 30)
            took = time.monotonic() - signalled
        finally:
            first.stop()
        assert code == 0, first.output()[-3000:]
        # The role stops after the grace plus giving back and closing (timed by its own log lines); the interpreter's
        # exit after that (collecting torch and friends) takes seconds more on a loaded machine.
        assert logged_seconds(first.output(), "SIGTERM received", "run role stopped") < GRACE_S + 2.5
        assert took < GRACE_S + 15, f"took {took:.1f} s to exit"
        before = {user: len([1 for chat, _ in fake.delivered if chat == user]) for user in users}
        assert before[finishing] == 1, "the handler running at the signal did not finish within the grace"
        assert sum(before.values()) < len(users), "nothing was left for the restart: the test proves nothing"
        assert "1 cut at the deadline and given back" in first.output(), first.output()[-3000:]

        second = Child("run", env, tmp_path, name="second")
        try:
            await wait_until_up(second, base + "/healthz")
            fake.slow.clear()
            await until(lambda: all(any(chat == user for chat, _ in fake.delivered) for user in users),
                        "a reply to every confirmed update", second)
            await asyncio.sleep(1.0)  # a duplicate would come right after
            # Telegram offers nothing again: every update was confirmed before the signal.
            assert all(o is None or int(o) > last_id for o in fake.offsets[-3:])
        finally:
            second.signal(signal.SIGTERM)
            assert await asyncio.to_thread(second.wait, 30) == 0, second.output()[-3000:]
    # The cut send left before the signal and reached Telegram after the process was gone (the fake acts on it when
    # its 6 s are up, as Telegram acts on a request whose client went away): the restart must not send it again.
    replies = {user: len([1 for chat, _ in fake.delivered if chat == user]) for user in users}
    assert replies == dict.fromkeys(users, 1), replies
    for child in (first, second):
        assert "Traceback" not in child.output(), child.output()[-3000:]
