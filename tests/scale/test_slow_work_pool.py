"""Slow model work holds no database connection (bot/middlewares/database.py, storage.db.released): with a pool of
two connections and no overflow, ten `/leak`s waiting on a slow remote text model and embedder do not block a `/help`,
and every `/leak` still ends with its result, its stored run and its history row.

Through the production path on SQLite and PostgreSQL: webhook → durable inbox → Dispatcher (the "done" mark in the
handler's last transaction) → the fake Bot API over real HTTP, the models behind the loopback OpenAI-compatible fake.
With one transaction held around the whole handler, the ten `/leak`s queue for the two connections (and time out
waiting for them) and `/help` is answered only after some of them: this test fails."""
import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from fakes.botapi import Call
from fakes.openai_api import FakeOpenAI, GatedOpenAI
from storage.schema.core import HistoryEntry
from storage.schema.inbox import DONE, FAILED, InboxUpdate
from storage.schema.leak import LeakResult
from tests.webhook import message_update, remote_models, webhook_bot

pytestmark = pytest.mark.timeout(240)
KEY = "sk-pool-test-key-456"
LEAKS = 10
HELP_USER = 500


async def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def to_chat(calls: list[Call], method: str, chat_ids: set[int]) -> list[int]:
    """Positions in the fake Bot API's call log of `method` calls to those chats (the log is in arrival order)."""
    return [index for index, call in enumerate(calls)
            if call.method == method and int(call.params.get("chat_id", 0)) in chat_ids]


async def settled(sessionmaker, updates: int, timeout: float = 30) -> None:
    """Until every update is finished in the inbox (its reply leaves before its last transaction commits)."""
    deadline = time.monotonic() + timeout
    while True:
        async with sessionmaker() as session:
            open_ = await session.scalar(select(func.count()).select_from(InboxUpdate)
                                         .where(InboxUpdate.status.not_in((DONE, FAILED))))
            total = await session.scalar(select(func.count()).select_from(InboxUpdate))
        if open_ == 0 and total == updates:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{open_} of {total} updates still unfinished in the inbox")
        await asyncio.sleep(0.05)


def running(calls: list[Call], chat_ids: set[int]) -> list[int]:
    """The "running the probe on remote-text…" messages: sent right before a /leak's model work starts."""
    return [index for index in to_chat(calls, "sendMessage", chat_ids) if "remote-text" in calls[index].params["text"]]


@pytest.fixture
async def slow_models(monkeypatch):
    monkeypatch.setenv("POOL_TEST_KEY", KEY)
    server = await GatedOpenAI(api_key=KEY).start()
    yield server
    server.gate.set()
    await server.stop()


def settings(models: FakeOpenAI) -> dict[str, Any]:
    return dict(db_pool_size=2, db_max_overflow=0, db_pool_timeout_s=10,
                **remote_models(models.base_url, "POOL_TEST_KEY"), leak_samples=2,
                quota_user_requests=1000, quota_chat_requests=1000)


async def test_help_is_answered_while_ten_leaks_wait_on_slow_models(database_url, slow_models, fake_botapi):
    bot_api = fake_botapi
    leakers = set(range(1, LEAKS + 1))
    async with webhook_bot(bot_api, database_url, with_models=True, **settings(slow_models)) as bot:
        rt = bot.rt
        statuses = await asyncio.gather(*(bot.post(message_update("/leak yellow | He works as a", user_id=user))
                                          for user in leakers))
        assert statuses == [200] * LEAKS
        # More /leaks than the pool has connections have said "running…" and wait on the models.
        await wait_for(lambda: len(running(bot_api.calls, leakers)) > 2, "the /leaks to start their work")
        assert await bot.post(message_update("/help", user_id=HELP_USER)) == 200
        await wait_for(lambda: to_chat(bot_api.calls, "sendMessage", {HELP_USER}) != [], "the /help answer")
        assert slow_models.arrived > 0  # /help came back while model requests were held at the gate
        slow_models.gate.set()
        await wait_for(lambda: len(to_chat(bot_api.calls, "editMessageText", leakers)) == LEAKS,
                       "every /leak result")
        await settled(rt.sessionmaker, LEAKS + 1)

        calls = list(bot_api.calls)
        [help_answer] = to_chat(calls, "sendMessage", {HELP_USER})
        results = to_chat(calls, "editMessageText", leakers)
        # /help was answered while every /leak was still waiting on the models, not after them (the gate opened
        # only once /help's answer had arrived: with connections held across the model calls it never would).
        assert help_answer < min(results)
        assert all("remote-text" in calls[index].params["text"] for index in results)
        # Each /leak sent its "running…" message and nothing else: no apology for a failed update.
        assert len(running(calls, leakers)) == len(to_chat(calls, "sendMessage", leakers)) == LEAKS
        async with rt.sessionmaker() as session:
            history = (await session.execute(select(HistoryEntry.command, HistoryEntry.status, func.count())
                                             .group_by(HistoryEntry.command, HistoryEntry.status))).all()
            assert sorted(history) == [("help", "ok", 1), ("leak", "ok", LEAKS)]  # no failure, no pool timeout
            assert await session.scalar(select(func.count()).select_from(LeakResult)) == LEAKS
            done = await session.execute(select(InboxUpdate.status, func.count()).group_by(InboxUpdate.status))
            assert done.all() == [(DONE, LEAKS + 1)]


async def test_released_commits_gives_the_connection_back_and_refuses_use_inside(migrated_engine):
    from storage.db import create_sessionmaker, released
    from storage.repo.core import get_user, upsert_user

    sessionmaker = create_sessionmaker(migrated_engine)
    async with sessionmaker() as session:
        await upsert_user(session, user_id=7, first_name="Ada", last_name=None, username=None,
                          telegram_language="en")
        assert migrated_engine.pool.checkedout() == 1
        async with released(session):
            assert migrated_engine.pool.checkedout() == 0  # nothing held while the slow work runs
            async with sessionmaker() as other:  # what came before is committed: another connection sees it
                assert await get_user(other, 7) is not None
        user = await get_user(session, 7)  # the next statement begins a new transaction by itself
        assert user is not None and user.first_name == "Ada"
        with pytest.raises(RuntimeError, match="used inside released"):
            async with released(session):
                await get_user(session, 8)
