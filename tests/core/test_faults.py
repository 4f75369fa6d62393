"""Transient faults are retried, never recorded as an update's failure: a storage error in mid-handler, the Bot API
answering 502 or 429, the database refusing the webhook's insert (503, so Telegram resends), SQLite's disk full, and
a backlog past INBOX_MAX_BACKLOG (429). Real webhook over loopback, real database, the fake Bot API; the heavy
versions of these faults (a PostgreSQL restart, Redis stopped, overload) are in bench/faults.py."""
import asyncio
import itertools
import logging
import shutil
import sqlite3

import pytest
from sqlalchemy import event, exc, func, select

from bot.transports import inbox as inbox_module
from bot.transports.inbox import backoff_s, transient_kind
from storage.db import is_transient
from storage.repo import inbox as repo
from storage.schema.core import HistoryEntry
from tests.webhook import message_update, webhook_bot

APOLOGY = "something went wrong"


@pytest.fixture
def fast_backoff(monkeypatch):
    monkeypatch.setattr(inbox_module, "RETRY_BASE_S", 0.05)


def test_transient_storage_errors_are_told_from_bugs():
    import asyncpg

    locked = exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    full = exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))
    missing = exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: history"))
    invalidated = exc.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    unique = exc.IntegrityError("INSERT", {}, Exception("duplicate key value violates unique constraint"))
    wrapped = RuntimeError("handler failed")
    wrapped.__cause__ = asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle")
    assert [is_transient(e) for e in (locked, full, invalidated, wrapped, ConnectionRefusedError(111, "refused"),
                                      asyncpg.exceptions.CannotConnectNowError("starting up"),
                                      asyncpg.exceptions.AdminShutdownError("terminating"),
                                      exc.TimeoutError("QueuePool limit reached"))] == [True] * 8
    assert [is_transient(e) for e in (missing, unique, ValueError("bad"), KeyError("x"),
                                      asyncpg.exceptions.UniqueViolationError("dup"))] == [False] * 5


def test_bot_api_faults_are_transient_and_retry_after_is_a_floor():
    from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter, TelegramServerError
    from aiogram.methods import SendMessage

    method = SendMessage(chat_id=1, text="x")
    assert transient_kind(TelegramRetryAfter(method, "Too Many Requests", 7)) == ("bot_api", 7.0)
    assert transient_kind(TelegramServerError(method, "Bad Gateway")) == ("bot_api", 0.0)
    assert transient_kind(TelegramBadRequest(method, "message text is empty")) is None
    waits = [backoff_s(retry) for retry in range(1, 12) for _ in range(20)]
    assert max(waits) <= inbox_module.RETRY_MAX_S and len({round(w, 6) for w in waits}) > 100  # jittered
    assert min(backoff_s(1, at_least=7) for _ in range(50)) >= 7


async def test_a_storage_failure_in_mid_handler_is_retried_not_recorded_and_no_apology(make_webhook_bot,
                                                                                       fast_backoff, caplog):
    """The connection breaks at the history insert of two updates: each run is rolled back and run again; one reply
    each, one history row each (status ok), no apology, no failure row, and no traceback in the log."""
    caplog.set_level(logging.INFO)
    async with make_webhook_bot() as bot:
        broken = {"left": 2}

        def break_history_insert(_conn, _cursor, statement, *_args):
            if statement.lstrip().upper().startswith("INSERT INTO HISTORY") and broken["left"]:
                broken["left"] -= 1
                raise ConnectionResetError(104, "Connection reset by peer")

        event.listen(bot.rt.engine.sync_engine, "before_cursor_execute", break_history_insert)
        updates = [message_update("/start", user_id=8101), message_update("/help", user_id=8102)]
        assert [await bot.post(update) for update in updates] == [200, 200]
        await bot.inbox.drain(30)
        event.remove(bot.rt.engine.sync_engine, "before_cursor_execute", break_history_insert)
        assert broken["left"] == 0
        for user in (8101, 8102):
            texts = bot.texts_to(user)
            assert len(texts) == 1 and APOLOGY not in texts[0].lower()
            assert await bot.statuses(user) == ["ok"]
        async with bot.rt.sessionmaker() as session:
            statuses = [await repo.status_of(session, update["update_id"]) for update in updates]
        assert statuses == ["done", "done"]
    assert not [record for record in caplog.records if record.exc_info], "a transient failure logged a traceback"
    assert sum("database unavailable" in record.getMessage() for record in caplog.records) <= 2


async def test_bot_api_502_and_429_are_retried_and_the_reply_sent_once(make_webhook_bot, fast_backoff):
    async with make_webhook_bot() as bot:
        bot.fake.fail_next("sendMessage", 502, times=2)
        first = message_update("/start", user_id=8201)
        assert await bot.post(first) == 200
        await bot.inbox.drain(30)
        assert len(bot.texts_to(8201)) == 1 and await bot.statuses(8201) == ["ok"]
        # 429 with retry_after = 1 four times: the session middleware waits it out twice, then the update waits
        # at least retry_after before its next run.
        bot.fake.fail_next("sendMessage", 429, retry_after=1, times=4)
        assert await bot.post(message_update("/help", user_id=8202)) == 200
        await bot.inbox.drain(30)
        assert len(bot.texts_to(8202)) == 1 and await bot.statuses(8202) == ["ok"]
        attempts = [call.at for call in bot.fake.calls_to("sendMessage") if int(call.params["chat_id"]) == 8202]
        assert len(attempts) == 5 and all(b - a >= 0.95 for a, b in itertools.pairwise(attempts))

    async with make_webhook_bot() as bot:
        # One 429 is waited out inside the call: no update fails, yet /readyz shows the flood control (degraded,
        # still 200), so an operator sees it.
        bot.fake.fail_next("sendMessage", 429, retry_after=1, times=1)
        assert await bot.post(message_update("/help", user_id=8203)) == 200
        await bot.inbox.drain(30)
        assert len(bot.texts_to(8203)) == 1 and await bot.statuses(8203) == ["ok"]
        status, body = await bot.readyz()
        assert status == 200 and body["status"] == "degraded" and body["bot_api"].startswith("flood control")


async def test_the_webhook_answers_503_while_storage_is_down_and_readyz_says_so(make_webhook_bot, monkeypatch, caplog):
    async with make_webhook_bot() as bot:
        async def refused(_payloads):
            raise ConnectionRefusedError(111, "Connect call failed")

        monkeypatch.setattr(bot.inbox, "store", refused)
        update = message_update("/start", user_id=8301)
        assert [await bot.post(update) for _ in range(5)] == [503] * 5
        status, body = await bot.readyz()
        assert status == 503 and body["inbox_storage"].startswith("unavailable")
        monkeypatch.undo()
        assert await bot.post(update) == 200  # Telegram's next resend
        await bot.inbox.drain(30)
        assert len(bot.texts_to(8301)) == 1
    assert not [record for record in caplog.records if record.exc_info]


async def test_sqlite_disk_full_refuses_with_503_then_recovers(tmp_path, fake_botapi):
    """SQLite's "database or disk is full" (here: max_page_count at the file's size) is a 5xx, never a 200."""
    limit = {"pages": 0}

    def cap(dbapi_connection, _record, _proxy):
        if limit["pages"]:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA max_page_count = {limit['pages']}")
            cursor.close()

    async with webhook_bot(fake_botapi, f"sqlite+aiosqlite:///{tmp_path / 'full.sqlite3'}") as bot:
        rt = bot.rt
        async with rt.engine.connect() as connection:
            pages = (await connection.exec_driver_sql("PRAGMA page_count")).scalar_one()
        limit["pages"] = pages
        engines = [rt.engine, *([bot.inbox.intake_engine] if bot.inbox.intake_engine else [])]
        for engine in engines:  # the handlers' pool and the webhook's own
            await engine.dispose()
            event.listen(engine.sync_engine, "checkout", cap)
        big = message_update("/start " + "x" * 60_000, user_id=8401)  # a row that needs new pages
        statuses = [await bot.post(big) for _ in range(3)]
        assert statuses == [503] * 3
        limit["pages"] = 0
        for engine in engines:
            await engine.dispose()  # connections opened from now on have no cap
        assert await bot.post(big) == 200
        await bot.inbox.drain(30)
        assert len(bot.texts_to(8401)) == 1
        async with rt.sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(HistoryEntry)) == 1


async def test_past_the_backlog_bound_the_webhook_answers_429(make_webhook_bot, monkeypatch):
    async with make_webhook_bot(inbox_max_backlog=2) as bot:
        async def claim_nothing(*_args, **_kwargs):
            return []

        monkeypatch.setattr(repo, "claim", claim_nothing)
        updates = [message_update("/start", user_id=8501 + index) for index in range(3)]
        assert [await bot.post(update) for update in updates] == [200, 200, 429]
        status, body = await bot.readyz()
        assert status == 200 and body["status"] == "degraded" and "INBOX_MAX_BACKLOG" in body["inbox_backlog"]
        monkeypatch.undo()
        bot.inbox.wake()
        await bot.inbox.drain(30)
        bot.inbox._backlog = (-1e9, 0)  # the count is re-read at most every 0.5 s
        assert await bot.post(updates[2]) == 200  # Telegram's resend, once the backlog is worked off
        await bot.inbox.drain(30)
        assert [len(bot.texts_to(8501 + index)) for index in range(3)] == [1, 1, 1]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server (a server of its own)")
async def test_quota_falls_back_while_its_redis_is_stopped_and_shares_again_when_it_is_back(tmp_path, caplog):
    """A redis-server of the test's own (never the shared one) stopped and started on the same port: the quota
    counts in the process meanwhile (no command refused for it, no traceback), /readyz's note says so, then clears."""
    from bench.stack import Redis
    from bot.middlewares.quota_backends import Check, LimitsQuota

    caplog.set_level(logging.INFO)
    redis = Redis(tmp_path)
    await asyncio.to_thread(redis.start)
    try:
        quota = LimitsQuota(redis.url, 60, key_prefix=f"faults-test-{redis.port}")
        checks = [Check("user", 1, 100)]
        assert await quota.acquire(checks) == (0.0, None) and await quota.state() is None
        await asyncio.to_thread(redis.stop)
        assert [await quota.acquire(checks) for _ in range(5)] == [(0.0, None)] * 5
        assert "fallback" in (await quota.state() or "")
        await asyncio.to_thread(redis.start)
        for _ in range(50):  # the client reconnects on its next command
            if await quota.state() is None:
                break
            await asyncio.sleep(0.1)
        assert await quota.state() is None and await quota.acquire(checks) == (0.0, None)
    finally:
        await asyncio.to_thread(redis.stop)
    messages = [record.getMessage() for record in caplog.records if record.name.startswith("bot.")]
    assert sum("unavailable" in m for m in messages) == 1 and sum("back after" in m for m in messages) == 1
    assert not [record for record in caplog.records if record.exc_info]


async def test_a_send_that_timed_out_after_telegram_delivered_it_is_not_sent_again(make_webhook_bot, fast_backoff):
    """No answer within BOT_API_TIMEOUT_S although Telegram carried the send out: the journal keeps the intent
    undecided, the rerun treats it as sent (never twice) and completes the update."""
    async with make_webhook_bot(bot_api_timeout_s=1) as bot:
        bot.fake.inject("hang", 1.0, hang_s=2.5, hang_delivers=True)
        update = message_update("/help", user_id=8601)
        assert await bot.post(update) == 200
        for _ in range(100):
            if bot.fake.calls_to("sendMessage"):
                break
            await asyncio.sleep(0.05)
        bot.fake.inject(None)
        await bot.inbox.drain(30)
        assert len([text for chat, text in bot.fake.delivered if chat == 8601]) == 1
        assert await bot.statuses(8601) == ["ok"]
        async with bot.rt.sessionmaker() as session:
            assert await repo.status_of(session, update["update_id"]) == "done"


async def test_a_claim_whose_commit_failed_is_not_run(make_webhook_bot, monkeypatch, caplog):
    """The claim's UPDATE … RETURNING gives rows before its commit; when the commit fails (SQLite's disk full, a
    dropped connection) those rows were never claimed. Running them anyway ran the update under a claim nobody held:
    its "done" could not commit, so it ran again and again, each run sending its reply (151 duplicates in the fault
    bench's disk_full while the journal could not write either)."""
    real_claim = repo.claim
    failures = {"left": 1}

    async def claim_then_fail_commit(session, **kwargs):
        rows = await real_claim(session, **kwargs)
        if rows and failures["left"]:
            failures["left"] -= 1

            def full(_session):
                raise exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full"))

            event.listen(session.sync_session, "before_commit", full, once=True)
        return rows

    async with make_webhook_bot() as bot:
        monkeypatch.setattr(repo, "claim", claim_then_fail_commit)
        assert await bot.post(message_update("/help", user_id=8401)) == 200
        await bot.inbox.drain(30)
        assert failures["left"] == 0, "the claim's commit was never made to fail"
        assert len(bot.texts_to(8401)) == 1 and await bot.statuses(8401) == ["ok"]
    assert not [record for record in caplog.records if "taken over" in record.getMessage()]
