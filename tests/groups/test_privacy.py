"""/export returns everything stored about a user; after /forget a walk over every table and column of the ORM
metadata, and over the scheduler's job store, finds nothing of them: not their id, not their username, not a word
they typed. A table added later without a privacy rule fails here."""
import asyncio
import json
import pickle
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from digests.scheduler import JOB_TABLE, DigestScheduler, jobstore_url
from handlers.history import HistoryPage
from services.privacy import REMOVED, TABLE_RULES
from storage.repo.flux import add_generation, vote
from storage.repo.leak import save_leak_result
from storage.schema.base import Base
from storage.schema.core import Chat, HistoryEntry
from storage.schema.digest import DigestIssue, Subscription
from storage.schema.groups import DigestVote
from tests.groups.conftest import GROUP, MEMBER, Person, sends
from tests.webhook import message_update

# Every text this user types contains "quokka"; their id and name are as unusual, so a hit is theirs.
ZELDA = Person(7_654_321_098, "Zelquokka", "zz_quokka_handle")
OTTO = Person(MEMBER, "Otto", "otto_o")
NEEDLES = ("quokka", str(ZELDA.id))
SUBMISSION = ("Quokkamarker: semantic leakage in tiny language models arXiv:2408.06518\n"
              "My quokka notes say the leakage rate doubles. Quokkas agree.")


def test_every_table_has_a_privacy_rule():
    missing = set(Base.metadata.tables) - set(TABLE_RULES)
    assert not missing, f"tables without a rule in services/privacy.py TABLE_RULES: {sorted(missing)}"


def _hits(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [str(value)] if value == ZELDA.id else []
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace").lower()
    elif isinstance(value, str):
        text = value.lower()
    else:
        text = json.dumps(value, default=str, ensure_ascii=False).lower()
    return [needle for needle in NEEDLES if needle in text]


async def walk_database(sessionmaker) -> list[str]:
    found = []
    async with sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column, value in row.items():
                    for needle in _hits(value):
                        found.append(f"{table.name}.{column} holds {needle!r}: {str(value)[:80]!r}")
    return found


def walk_job_store(database_url: str) -> list[str]:
    engine = sa.create_engine(jobstore_url(database_url))
    found = []
    try:
        with engine.connect() as connection:
            for job_id, state in connection.execute(sa.text(f"SELECT id, job_state FROM {JOB_TABLE}")):
                job = pickle.loads(state)
                for needle in _hits(repr(job)) + _hits(state) + _hits(job_id):
                    found.append(f"job {job_id} holds {needle!r}: {job.get('name')!r}")
    finally:
        engine.dispose()
    return found


async def test_export_then_forget_leaves_nothing_of_the_user(group_bot):
    bot, fake = group_bot, group_bot.fake
    fake.admins[GROUP].add(ZELDA.id)  # Zelda may manage the group's subscriptions
    # --- what Zelda leaves behind, through the bot where the bot writes it ---
    await bot.send("/start", ZELDA, chat_id=ZELDA.id)
    await bot.send("/lang quokkish", ZELDA, chat_id=ZELDA.id)  # a rejected command keeps what was typed
    await bot.send("/subscribe quokka habitats daily=09:00", ZELDA, chat_id=ZELDA.id)  # her private subscription
    await bot.send("/subscribe leakage daily=10:00", ZELDA)  # the group's subscription, created by Zelda
    await bot.send(f"/submit {SUBMISSION}", ZELDA, chat_id=ZELDA.id)
    await bot.send("/help", OTTO)
    await bot.send("/start", OTTO, chat_id=OTTO.id)
    service = bot.dp["digests"]
    await service.group()  # the submission becomes a paper
    async with bot.sessionmaker() as session:
        subscriptions = {s.chat_id: s for s in (await session.scalars(select(Subscription))).all()}
        assert set(subscriptions) == {ZELDA.id, GROUP}
        assert all(s.created_by == ZELDA.id for s in subscriptions.values())
    group_issue = await service.build_issue(subscriptions[GROUP].id)  # the group received Zelda's paper
    assert group_issue is not None and "Quokkamarker" in group_issue.text
    assert await service.build_issue(subscriptions[ZELDA.id].id) is not None
    async with bot.sessionmaker() as session, session.begin():
        # Rows of the features that need models or image APIs, written by their repositories.
        await save_leak_result(session, user_id=ZELDA.id, chat_id=GROUP, probe_id="user", language="en",
                               concept="quokka", control="He works as a", test="He likes quokka. He works as a",
                               model="gemma-3-270m", n=2, temperatures=[0.0], leak_rate=50.0, ci_low=10.0,
                               ci_high=90.0, p_value=0.5, samples={"test": ["a quokka keeper"], "control": ["x"]})
        mine = await add_generation(session, user_id=ZELDA.id, chat_id=GROUP, prompt="a quokka with a sign",
                                    provider="replicate", model="flux", seed=1, status="ok")
        others = await add_generation(session, user_id=OTTO.id, chat_id=GROUP, prompt="a red bus",
                                      provider="replicate", model="flux", seed=2, status="ok")
        await vote(session, others.id, ZELDA.id, 1)
        await vote(session, mine.id, OTTO.id, -1)
        issue = await session.get(DigestIssue, group_issue.issue_id)
        session.add(DigestVote(issue_id=issue.id, paper_id=issue.papers[0], user_id=ZELDA.id, chat_id=GROUP,
                               value=1))
    engine = bot.sessionmaker.kw["bind"]
    scheduler = DigestScheduler(service, engine, bot.config.bot.database_url)
    assert await scheduler.start()
    bot.dp["digest_scheduler"] = scheduler
    try:
        await scheduler.sync_subscriptions()
        assert walk_job_store(bot.config.bot.database_url)  # the private subscription's job names Zelda's chat

        # --- /export: one JSON document with everything ---
        [document] = sends(await bot.send("/export", ZELDA, chat_id=ZELDA.id), "sendDocument")
        exported = json.loads(fake.uploaded(document)["content"])
        assert exported["user"]["username"] == "zz_quokka_handle" and exported["private_chat"]["id"] == ZELDA.id
        assert {row["command"] for row in exported["history"]} >= {"start", "lang", "subscribe", "submit"}
        assert sorted(row["chat_id"] for row in exported["subscriptions"]) == sorted([ZELDA.id, GROUP])
        assert exported["submissions"][0]["text"] == SUBMISSION
        assert exported["leak_results"][0]["concept"] == "quokka"
        assert [row["prompt"] for row in exported["flux_generations"]] == ["a quokka with a sign"]
        assert [row["value"] for row in exported["flux_votes"]] == [1]
        assert [row["value"] for row in exported["digest_votes"]] == [1]

        # --- /forget ---
        [confirm] = sends(await bot.send("/forget", ZELDA, chat_id=ZELDA.id))
        calls = await bot.press(confirm, 0, ZELDA, chat_id=ZELDA.id)
        assert "deleted" in [c for c in calls if c.method == "editMessageText"][0].params["text"]

        leftovers = await walk_database(bot.sessionmaker) + walk_job_store(bot.config.bot.database_url)
        assert leftovers == [], "\n".join(leftovers)
    finally:
        await scheduler.stop()

    # What belongs to others stays: the group's subscription (without its creator), its issue (without Zelda's
    # words), its job; Otto's history, image and vote.
    async with bot.sessionmaker() as session:
        [group_sub] = (await session.scalars(select(Subscription))).all()
        assert group_sub.chat_id == GROUP and group_sub.active and group_sub.created_by is None
        issue = await session.get(DigestIssue, group_issue.issue_id)
        assert REMOVED in issue.text and "Paper digest" in issue.text  # the issue stays, Zelda's words do not
        assert await session.get(Chat, GROUP) is not None and await session.get(Chat, ZELDA.id) is None
        otto = (await session.scalars(select(HistoryEntry.command).where(HistoryEntry.user_id == OTTO.id))).all()
        assert sorted(otto) == ["help", "start"]
        from storage.schema.flux import FluxGeneration, FluxVote

        assert (await session.scalars(select(FluxGeneration.prompt))).all() == ["a red bus"]
        assert (await session.scalars(select(FluxVote.user_id))).all() == []  # Otto's vote was on Zelda's image
    jobs = sa.create_engine(jobstore_url(bot.config.bot.database_url))
    with jobs.connect() as connection:
        ids = {row[0] for row in connection.execute(sa.text(f"SELECT id FROM {JOB_TABLE}"))}
    jobs.dispose()
    assert f"digest:{group_sub.id}" in ids


async def test_a_forged_history_button_in_a_group_shows_no_private_rows(group_bot):
    bot = group_bot
    member = Person(MEMBER, "Mia", "mia_m")
    await bot.send("/lang wombatsecret", member, chat_id=MEMBER)  # a private row (rejected: it keeps the text)
    [listing] = sends(await bot.send("/history", member), "sendMessage")  # in the group: only the group's rows
    assert "wombatsecret" not in listing.params["text"]
    for forged in (HistoryPage(owner=MEMBER, offset=0, size=5, chat=0).pack(),  # "every chat"
                   HistoryPage(owner=MEMBER, offset=0, size=5, chat=MEMBER).pack()):  # another chat's rows
        calls = await bot.press(_button(listing.params["text"], forged), 0, member)
        shown = " ".join(str(c.params.get("text", "")) for c in calls)
        assert "wombatsecret" not in shown, shown
        [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
        assert answer.params.get("show_alert") is True
    # The same button pressed in the private chat still turns the private pages.
    private = HistoryPage(owner=MEMBER, offset=0, size=5, chat=0).pack()
    calls = await bot.press(_button("history", private), 0, member, chat_id=MEMBER, thread=None)
    assert "wombatsecret" in " ".join(str(c.params.get("text", "")) for c in calls)


def _button(text: str, data: str) -> SimpleNamespace:
    """A message of the bot's with one inline button carrying `data` (as a recorded call: GroupBot.press)."""
    return SimpleNamespace(params={"text": text, "reply_markup": {"inline_keyboard": [[{"text": "›",
                                                                                           "callback_data": data}]]}})


# ---------------------------------------------------------------- every database file, through the webhook
def _found(value: Any, depth: int = 0) -> list[str]:
    """The needles in a stored value, searching inside JSON (text that parses as JSON, dicts, lists) and pickles."""
    if value is None or isinstance(value, bool) or depth > 50:
        return []
    if isinstance(value, int):
        return [str(value)] if value == ZELDA.id else []
    if isinstance(value, dict):
        return [hit for key, item in value.items() for hit in _found(key, depth + 1) + _found(item, depth + 1)]
    if isinstance(value, list | tuple):
        return [hit for item in value for hit in _found(item, depth + 1)]
    if isinstance(value, bytes | memoryview):
        raw = bytes(value)
        hits = [needle for needle in NEEDLES if needle.encode() in raw.lower()]
        try:
            hits += _found(repr(pickle.loads(raw)), depth + 1)  # the scheduler's job store
        except Exception:  # noqa: BLE001 - not a pickle
            pass
        return hits
    text = str(value)
    hits = [needle for needle in NEEDLES if needle in text.lower()]
    if text[:1] in "{[":
        try:
            hits += _found(json.loads(text), depth + 1)  # a JSON column as SQLite stores it (non-ASCII escaped)
        except ValueError:
            pass
    return hits


def walk_sqlite_files(directory) -> list[str]:
    """Every SQLite file under `directory` (the main database, the call journal beside it, the job store, …): every
    table, every row, every column."""
    import sqlite3

    found = []
    files = [path for path in directory.rglob("*")
             if path.is_file() and path.read_bytes()[:16] == b"SQLite format 3\x00"]
    assert len(files) >= 2, files  # at least the main database and the call journal
    for path in files:
        connection = sqlite3.connect(path)
        try:
            tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                cursor = connection.execute(f'SELECT * FROM "{table}"')
                columns = [column[0] for column in cursor.description]
                for row in cursor:
                    for column, value in zip(columns, row, strict=True):
                        found += [f"{path.name}:{table}.{column} holds {needle!r}: {str(value)[:100]!r}"
                                  for needle in _found(value)]
        finally:
            connection.close()
    return found


def raw_hits(directory) -> list[str]:
    """The needles in the raw bytes of every file under `directory` (SQLite files, their -wal and -shm): what
    deleted rows leave in free pages or in the WAL's old page images, which no SELECT shows."""
    return [f"{path.name} holds {needle!r}" for path in sorted(directory.rglob("*")) if path.is_file()
            for needle in NEEDLES if needle.encode() in path.read_bytes().lower()]


async def walk_postgres(database_url: str) -> list[str]:
    """Every table of the database's public schema (the bot's, the journal's, the job store's), every column."""
    from storage.db import create_engine

    engine = create_engine(database_url)
    found = []
    try:
        async with engine.connect() as connection:
            tables = (await connection.execute(sa.text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"))).scalars().all()
            for table in tables:
                for row in (await connection.execute(sa.text(f'SELECT * FROM "{table}"'))).mappings():
                    for column, value in row.items():
                        found += [f"{table}.{column} holds {needle!r}: {str(value)[:100]!r}"
                                  for needle in _found(value)]
    finally:
        await engine.dispose()
    return found


def _as_zelda(update: dict[str, Any]) -> dict[str, Any]:
    update["message"]["from"].update(first_name=ZELDA.first_name, username=ZELDA.username)
    if update["message"]["chat"]["type"] == "private":
        update["message"]["chat"].update(first_name=ZELDA.first_name, username=ZELDA.username)
    return update


@pytest.mark.parametrize("database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
async def test_forget_over_the_webhook_leaves_nothing_in_any_database_file(make_webhook_bot, database_url, tmp_path):
    """Through the durable inbox and the call journal (a file of its own on SQLite): after the confirmation, no
    table of any database file holds Zelda's id, names or words, inside JSON included (raw updates, journaled
    answers, the arXiv source her topic went into)."""
    user = ZELDA.id
    group = -100_555_444
    async with make_webhook_bot() as bot:
        async def post(text: str, **where: Any) -> None:
            before = len(bot.fake.calls_to("sendMessage"))
            assert await bot.post(_as_zelda(message_update(text, user_id=user, **where))) == 200
            await bot.wait_for(lambda: len(bot.fake.calls_to("sendMessage")) > before, f"the reply to {text!r}")

        await post("/start")
        await post("/lang quokkaish")  # refused: the history row keeps what was typed
        await post("/subscribe quokka habitats daily=09:00")
        await post("/help quokka please", chat_id=group, chat_type="supergroup")  # a group reply quoting her
        await bot.rt.dispatcher["digests"].ensure_configured_sources()  # her topic goes into the arXiv query
        async with bot.rt.sessionmaker() as session:
            names = (await session.execute(sa.text("SELECT name, locator FROM digest_sources"))).all()
        assert any("quokka" in f"{name} {locator}".lower() for name, locator in names), names
        await post("/forget")
        [confirm] = [call for call in bot.fake.calls_to("sendMessage") if call.params.get("reply_markup")][-1:]
        markup = confirm.params["reply_markup"]
        markup = json.loads(markup) if isinstance(markup, str) else markup
        data = markup["inline_keyboard"][0][0]["callback_data"]
        sender = {"id": user, "is_bot": False, "first_name": ZELDA.first_name, "username": ZELDA.username}
        press = {"update_id": 9_000_001, "callback_query": {
            "id": "9000001", "from": sender, "chat_instance": "ci", "data": data, "message": {
                "message_id": 77, "date": 1_700_000_000, "text": "confirm?", "from": {
                    "id": bot.fake.bot_id, "is_bot": True, "first_name": "bot"},
                "chat": {"id": user, "type": "private", "first_name": ZELDA.first_name}}}}
        assert await bot.post(press) == 200
        await bot.wait_for(lambda: bot.fake.calls_to("editMessageText"), "the confirmation's edit", timeout_s=60)
        await bot.inbox.drain(timeout=20)
        async with bot.rt.sessionmaker() as session:
            status = (await session.execute(sa.text("SELECT status FROM inbox_updates WHERE update_id = 9000001"))
                      ).scalar()
        assert status == "done"
        if database_url.startswith("sqlite"):
            # While the bot still runs: not in the files' bytes either (free pages, the WALs' old page images).
            for _ in range(50):
                raw = raw_hits(tmp_path)
                if not raw:
                    break
                await asyncio.sleep(0.2)
            assert raw == [], raw
    if database_url.startswith("sqlite"):
        assert raw_hits(tmp_path) == []
        leftovers = walk_sqlite_files(tmp_path)
    else:
        leftovers = await walk_postgres(database_url)
    assert leftovers == [], "\n".join(leftovers)
