"""Repositories (storage/repo/core.py) on SQLite and on PostgreSQL, over a database migrated to heads."""
import asyncio
from datetime import timedelta

from sqlalchemy import func, select, text

from storage.db import create_engine, create_sessionmaker
from storage.repo.core import (
    bot_stats,
    forget_user,
    record_history,
    upsert_chat,
    upsert_user,
)
from storage.repo.privacy import count_history, history_rows
from storage.schema.core import Chat, HistoryEntry, User


async def _user(session, user_id=1, **changes):
    values = dict(user_id=user_id, first_name="Ada", last_name=None, username="ada", telegram_language="en")
    values.update(changes)
    return await upsert_user(session, **values)


async def test_upsert_user_inserts_then_updates_and_keeps_the_chosen_language(migrated_engine):
    sessionmaker = create_sessionmaker(migrated_engine)
    async with sessionmaker() as session, session.begin():
        user = await _user(session)
        assert (user.id, user.first_name, user.language) == (1, "Ada", None)
        first_seen, created = user.last_seen_at, user.created_at
        user.language = "fa"  # chosen with /lang
    async with sessionmaker() as session, session.begin():
        user = await _user(session, first_name="Ada L.", username=None, telegram_language="ru")
        assert (user.first_name, user.username, user.telegram_language) == ("Ada L.", None, "ru")
        assert user.language == "fa", "an upsert from Telegram data must not undo the user's own choice"
        assert user.created_at == created and user.last_seen_at >= first_seen
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1


async def test_upsert_chat_keeps_settings_and_language(migrated_engine):
    sessionmaker = create_sessionmaker(migrated_engine)
    async with sessionmaker() as session, session.begin():
        chat = await upsert_chat(session, chat_id=-100, type="group", title="ML <chat>")
        chat.language, chat.settings, chat.active = "he", {"digest": True}, False
    async with sessionmaker() as session, session.begin():
        chat = await upsert_chat(session, chat_id=-100, type="supergroup", title="ML chat 2")
        assert (chat.type, chat.title, chat.language, chat.settings) == ("supergroup", "ML chat 2", "he",
                                                                         {"digest": True})
        assert chat.active, "a chat that talks to the bot again is active again"
        channel = await upsert_chat(session, chat_id=-1007, type="channel", title=None)
        assert channel.type == "channel" and channel.settings == {}


async def test_twenty_concurrent_upserts_of_one_user(migrated_engine):
    sessionmaker = create_sessionmaker(migrated_engine)

    async def one(index: int) -> str:
        async with sessionmaker() as session, session.begin():
            user = await _user(session, user_id=777, first_name=f"name-{index}")
            await upsert_chat(session, chat_id=777, type="private", title=None)
            await record_history(session, user_id=777, chat_id=777, command="start", arguments=str(index),
                                 status="ok")
            return user.first_name

    names = await asyncio.gather(*(one(index) for index in range(20)))
    assert sorted(names) == sorted(f"name-{index}" for index in range(20))  # each saw its own write
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
        assert await session.scalar(select(func.count()).select_from(Chat)) == 1
        assert await count_history(session, 777, None) == 20
        assert (await session.get(User, 777)).first_name in names


async def test_history_paging_order_and_truncation(migrated_engine):
    sessionmaker = create_sessionmaker(migrated_engine)
    async with sessionmaker() as session, session.begin():
        await _user(session)
        await _user(session, user_id=2)
        await upsert_chat(session, chat_id=1, type="private", title=None)
        entries = [await record_history(session, user_id=1, chat_id=1, command=f"c{index}", arguments="x" * 5000,
                                        status="ok", result={"n": index, "text": "שלום 😀 <b>"}, model="m",
                                        latency_ms=index) for index in range(25)]
        await record_history(session, user_id=2, chat_id=1, command="other", arguments="", status="error")
        # Same timestamp for a few entries: the id breaks the tie, so pages never repeat or skip a row.
        for entry in entries[:5]:
            entry.created_at = entries[0].created_at
        entries[-1].created_at = entries[0].created_at - timedelta(days=1)
    async with sessionmaker() as session:
        assert await count_history(session, 1, None) == 25
        pages = [await history_rows(session, 1, None, offset=offset, limit=10) for offset in (0, 10, 20)]
        commands = [entry.command for page in pages for entry in page]
        assert len(commands) == 25 and len(set(commands)) == 25
        assert commands[-1] == "c24"  # the oldest, whatever its id says
        newest = [entry.command for entry in pages[0]]
        assert newest[:2] == ["c23", "c22"]
        entry = pages[0][0]
        assert len(entry.arguments) == 4000 and entry.result == {"n": 23, "text": "שלום 😀 <b>"}
        assert entry.created_at.tzinfo is not None or migrated_engine.dialect.name == "sqlite"


async def test_forget_user_deletes_their_rows_only(migrated_engine):
    sessionmaker = create_sessionmaker(migrated_engine)
    async with sessionmaker() as session, session.begin():
        for user_id in (1, 2):
            await _user(session, user_id=user_id)
        await upsert_chat(session, chat_id=-5, type="group", title="g")
        for user_id in (1, 1, 2):
            await record_history(session, user_id=user_id, chat_id=-5, command="start", arguments="", status="ok")
    async with sessionmaker() as session, session.begin():
        assert await forget_user(session, 1) == 2
    async with sessionmaker() as session:
        assert await session.get(User, 1) is None and await session.get(User, 2) is not None
        assert await count_history(session, 1, None) == 0 and await count_history(session, 2, None) == 1
        assert await session.get(Chat, -5) is not None  # the group is not theirs alone


async def test_foreign_keys_cascade_on_both_backends(migrated_engine):
    """Deleting a user directly (not through forget_user) still removes their history: ON DELETE CASCADE is real
    (SQLite needs PRAGMA foreign_keys=ON on every connection); deleting a chat keeps history with chat_id NULL."""
    sessionmaker = create_sessionmaker(migrated_engine)
    async with sessionmaker() as session, session.begin():
        await _user(session, user_id=3)
        await upsert_chat(session, chat_id=-9, type="group", title="g")
        await record_history(session, user_id=3, chat_id=-9, command="a", arguments="", status="ok")
        await record_history(session, user_id=None, chat_id=-9, command="b", arguments="", status="ok")
    async with sessionmaker() as session, session.begin():
        await session.execute(text("DELETE FROM chats WHERE id = -9"))
        await session.execute(text("DELETE FROM users WHERE id = 3"))
    async with sessionmaker() as session:
        rows = (await session.execute(select(HistoryEntry.command, HistoryEntry.chat_id))).all()
        assert rows == [("b", None)]


async def test_bot_stats(migrated_engine):
    sessionmaker = create_sessionmaker(migrated_engine)
    async with sessionmaker() as session, session.begin():
        await _user(session, user_id=1)
        await _user(session, user_id=2)
        await upsert_chat(session, chat_id=1, type="private", title=None)
        for command, status in [("start", "ok"), ("start", "error"), ("leak", "rejected"), ("start", "ok")]:
            await record_history(session, user_id=1, chat_id=1, command=command, arguments="", status=status)
    async with sessionmaker() as session:
        stats = await bot_stats(session)
    assert (stats.users, stats.chats, stats.requests, stats.errors, stats.rejected) == (2, 1, 4, 1, 1)
    assert stats.by_command == [("start", 3, 1), ("leak", 1, 0)]


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url):
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() >= 5000
    finally:
        await engine.dispose()


async def test_nul_and_overlong_values_are_stored_on_both_backends(migrated_engine):
    """PostgreSQL refuses NUL in text and enforces VARCHAR lengths; SQLite does neither. The repositories make
    both backends accept what Telegram users can send."""
    sessionmaker = create_sessionmaker(migrated_engine)
    async with sessionmaker() as session, session.begin():
        user = await _user(session, user_id=8, first_name="A\x00da" + "x" * 300, username="u" * 100)
        await upsert_chat(session, chat_id=-8, type="group", title="g\x00" * 200)
        await record_history(session, user_id=8, chat_id=-8, command="c\x00" * 40, arguments="a\x00b",
                             status="ok", result={"text": "x\x00y"})
    async with sessionmaker() as session:
        user = await session.get(User, 8)
        assert user.first_name.startswith("Ada") and len(user.first_name) == 256 and len(user.username) == 64
        assert (await session.get(Chat, -8)).title == "g" * 200
        [entry] = await history_rows(session, 8, None)
        assert (entry.command, entry.arguments) == ("c" * 32, "ab")
        assert entry.result == {"text": "x\x00y"}
