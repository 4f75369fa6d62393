"""The digest broadcaster over real HTTP (fakes/botapi.py on loopback, reached through the app's own Bot) and a real
database (SQLite and PostgreSQL): exactly-once delivery, Telegram's errors and limits, splitting, crash and resume."""
import asyncio
import time
from dataclasses import dataclass

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_bot
from chatkit.render import split_message, utf16_len
from digests.broadcast import Broadcaster, BroadcastReport
from digests.config import DigestSettings
from fakes.botapi import FakeBotAPI, FloodLimits
from handlers.settings import Settings
from storage.db import create_engine, create_sessionmaker
from storage.repo.core import upsert_chat
from storage.repo.digest import ensure_deliveries
from storage.schema.core import Chat
from storage.schema.digest import Delivery, DigestIssue
from tests.core.telegram_html import assert_valid, visible_text

TOKEN = "123456:AAHfakeBroadcastTokenSecret_0123456789"
# Fast limits: nothing here waits on Telegram's real rates except where a test says so.
FAST = dict(broadcast_per_second=200, broadcast_per_chat_interval_s=0.0, broadcast_group_per_minute=1000,
            broadcast_retries=2, broadcast_concurrency=4)

# A digest in Hebrew and Persian with markup, links, escaped text and isolated Latin names: over 4096 UTF-16 units.
RTL_ENTRY = ("<b>מאמר {n}: מודלי שפה קטנים</b> — <i>\u2068GPT-2\u2069 ו־\u2068Gemma\u2069</i>\n"
             "خلاصه: <a href=\"https://arxiv.org/abs/2408.{n:05d}\">مدل‌های زبانی</a> &amp; نشت معنایی "
             "&lt;در&gt; متن‌های فارسی 📄\n")
LONG_RTL = "<blockquote>" + "".join(RTL_ENTRY.format(n=n) for n in range(60)) + "</blockquote>"


@dataclass
class World:
    fake: FakeBotAPI
    bot: Bot
    sessionmaker: async_sessionmaker[AsyncSession]
    periods = iter(range(1, 10_000))

    async def chat(self, chat_id: int, chat_type: str = "private", *, active: bool = True) -> None:
        async with self.sessionmaker() as session, session.begin():
            await upsert_chat(session, chat_id=chat_id, type=chat_type, title=None)
            if not active:
                await session.execute(update(Chat).where(Chat.id == chat_id).values(active=False))

    async def issue(self, text: str, chat_ids: list[int]) -> int:
        async with self.sessionmaker() as session, session.begin():
            issue = DigestIssue(subscription_id=None, period=f"p{next(self.periods)}", papers=[], text=text)
            session.add(issue)
            await session.flush()
            await ensure_deliveries(session, issue.id, chat_ids)
            return issue.id

    def broadcaster(self, bot: Bot | None = None, sessionmaker=None, **overrides) -> Broadcaster:
        settings = DigestSettings(_env_file=None, **(FAST | overrides))
        return Broadcaster(bot or self.bot, sessionmaker or self.sessionmaker, settings, backoff_base_s=0.05)

    async def rows(self) -> list[Delivery]:
        async with self.sessionmaker() as session:
            return list((await session.scalars(select(Delivery).order_by(Delivery.id))).all())

    async def row(self, issue_id: int, chat_id: int) -> Delivery:
        async with self.sessionmaker() as session:
            return (await session.scalars(select(Delivery).where(Delivery.issue_id == issue_id,
                                                                 Delivery.chat_id == chat_id))).one()

    async def is_active(self, chat_id: int) -> bool:
        async with self.sessionmaker() as session:
            return await session.scalar(select(Chat.active).where(Chat.id == chat_id))

    def calls(self, chat_id: int) -> list:
        return [call for call in self.fake.calls_to("sendMessage") if int(call.params["chat_id"]) == chat_id]

    def delivered(self, chat_id: int) -> list[str]:
        return [text for to, text in self.fake.delivered if to == chat_id]


@pytest.fixture
async def world(migrated_engine):
    async with FakeBotAPI() as fake:
        # The app's Bot as bot.app builds it (with its Retry-After middleware, which the broadcaster bypasses).
        bot = create_bot(Settings(_env_file=None, bot_token=TOKEN, telegram_api_base=fake.base_url))
        try:
            yield World(fake, bot, create_sessionmaker(migrated_engine))
        finally:
            await bot.session.close()


def fake_bot(base_url: str, **session) -> Bot:
    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url), **session))


async def test_every_pending_row_is_delivered_exactly_once(world):
    chats = [11, 12, 13, 14, 15, 16, -1001, -1002]
    for chat_id in chats[:-1]:  # -1002 is not in the chats table
        await world.chat(chat_id, "supergroup" if chat_id < 0 else "private")
    first = await world.issue("<b>Digest</b> one &amp; <i>only</i>", chats)
    second = await world.issue("Digest two: <code>x &lt; y</code>", chats[:4])
    already = await world.issue("sent by an earlier run", [11])
    async with world.sessionmaker() as session, session.begin():
        await session.execute(update(Delivery).where(Delivery.issue_id == already).values(state="sent"))

    report = await world.broadcaster().run()

    assert (report.sent, report.blocked, report.failed, report.unknown) == (12, 0, 0, 0)
    for chat_id in chats:
        expected = ["<b>Digest</b> one &amp; <i>only</i>"] + (["Digest two: <code>x &lt; y</code>"]
                                                             if chat_id in chats[:4] else [])
        assert sorted(world.delivered(chat_id)) == sorted(expected), chat_id
        for call in world.calls(chat_id):
            assert call.params["parse_mode"] == "HTML"
            assert call.params["link_preview_options"]["is_disabled"] is True
    rows = {(row.issue_id, row.chat_id): row for row in await world.rows()}
    assert all(row.state == "sent" and row.attempts == 1 and len(row.message_ids) == 1
               for key, row in rows.items() if key[0] in (first, second))
    assert rows[(already, 11)].attempts == 0  # an old `sent` row is left alone
    assert world.calls(11) and all(call.params["text"] != "sent by an earlier run" for call in world.calls(11))

    calls_before = len(world.fake.calls)
    again = await world.broadcaster().run()
    assert (again.sent, again.unknown) == (0, 0) and len(world.fake.calls) == calls_before


async def test_retry_after_is_waited_out_and_paused_globally(world):
    await world.chat(21)
    issue = await world.issue("<b>hello</b>", [21])
    world.fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    report = await world.broadcaster().run()

    first, second = world.calls(21)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0
    assert report.retried_after == 1 and report.sent == 1 and report.failed == 0
    assert world.delivered(21) == ["<b>hello</b>"]
    row = await world.row(issue, 21)
    assert row.state == "sent" and row.attempts == 2


async def test_blocked_chat_is_marked_inactive_and_skipped(world):
    for chat_id in (31, 32):
        await world.chat(chat_id)
    world.fake.blocked_chats.add(31)
    first = await world.issue("one", [31, 32])
    second = await world.issue("two", [31, 32])

    report = await world.broadcaster().run()

    assert len(world.calls(31)) == 1  # the second digest is not even tried
    assert world.delivered(32) == ["one", "two"]
    assert (await world.row(first, 31)).state == (await world.row(second, 31)).state == "blocked"
    assert "blocked by the user" in (await world.row(first, 31)).error
    assert await world.is_active(31) is False and await world.is_active(32) is True
    assert (report.sent, report.blocked) == (2, 2)

    third = await world.issue("three", [31, 32])  # a later run: no call at all to the inactive chat
    report = await world.broadcaster().run()
    assert len(world.calls(31)) == 1 and (await world.row(third, 31)).state == "blocked"
    assert (report.sent, report.blocked) == (1, 1)


async def test_bad_requests_block_or_fail_without_retry(world):
    await world.chat(41)
    gone = await world.issue("to a deleted chat", [41])
    world.fake.fail_next("sendMessage", 400, "Bad Request: chat not found")
    assert (await world.broadcaster().run(issue_ids=[gone])).blocked == 1
    assert (await world.row(gone, 41)).state == "blocked" and await world.is_active(41) is False

    await world.chat(42)
    bad = await world.issue("<b>fine</b>", [42])
    # Telegram's words echo the request; the token must not reach the table even then.
    world.fake.fail_next("sendMessage", 400, f"Bad Request: can't parse entities near /bot{TOKEN}/sendMessage")
    report = await world.broadcaster().run(issue_ids=[bad])
    row = await world.row(bad, 42)
    assert report.failed == 1 and row.state == "failed" and row.attempts == 1 and len(world.calls(42)) == 1
    assert "can't parse entities" in row.error and TOKEN not in row.error and TOKEN.split(":")[1] not in row.error

    empty = await world.issue("<b> \n</b>", [42])  # shows nothing: Telegram would reject it as empty
    assert (await world.broadcaster().run(issue_ids=[empty])).failed == 1
    assert (await world.row(empty, 42)).state == "failed" and len(world.calls(42)) == 1


async def test_server_errors_are_retried_with_backoff_then_fail(world):
    await world.chat(51)
    await world.chat(52)
    recovers = await world.issue("after one 500", [51])
    world.fake.fail_next("sendMessage", 500)
    report = await world.broadcaster().run(issue_ids=[recovers])
    row = await world.row(recovers, 51)
    assert report.sent == 1 and row.state == "sent" and row.attempts == 2 and row.error is None
    assert [call.status for call in world.calls(51)] == [500, 200] and world.delivered(51) == ["after one 500"]

    gives_up = await world.issue("never answered", [52])
    world.fake.fail_next("sendMessage", 502, times=3)  # broadcast_retries=2: three attempts, then failed
    report = await world.broadcaster().run(issue_ids=[gives_up])
    row = await world.row(gives_up, 52)
    assert report.failed == 1 and row.state == "failed" and row.attempts == 3
    assert "after 3 attempts" in row.error and "Bad Gateway" in row.error
    calls = world.calls(52)
    assert [call.status for call in calls] == [502, 502, 502]
    assert calls[2].at - calls[0].at >= 0.075  # two backoffs: 0.025-0.05 s, then 0.05-0.1 s


async def test_unreachable_api_is_retried_and_token_stays_out(world):
    async with FakeBotAPI() as gone:
        base_url = gone.base_url  # a port nobody listens on once this server stops
    await world.chat(53)
    issue = await world.issue("nobody listens", [53])
    bot = fake_bot(base_url)
    try:
        report = await world.broadcaster(bot).run()
    finally:
        await bot.session.close()
    row = await world.row(issue, 53)
    assert report.failed == 1 and row.state == "failed" and row.attempts == 3  # connecting failed: retried
    assert "ClientConnectorError" in row.error and TOKEN not in row.error


async def test_a_request_that_may_have_arrived_is_not_resent(world):
    world.fake.latency_s = 0.6  # Telegram answers after the client gave up: the message did arrive
    await world.chat(61)
    issue = await world.issue("maybe", [61])
    bot = fake_bot(world.fake.base_url, timeout=0.2)
    try:
        report = await world.broadcaster(bot).run()
        again = await world.broadcaster(bot).run()
    finally:
        await bot.session.close()
    row = await world.row(issue, 61)
    assert report.unknown == 1 and row.state == "unknown" and "timeout" in row.error.lower()
    assert again.sent == again.unknown == 0 and len(world.calls(61)) == 1


async def test_long_right_to_left_digest_is_split_into_valid_parts(world):
    assert utf16_len(LONG_RTL) > 2 * 4096
    await world.chat(71)
    issue = await world.issue(LONG_RTL, [71])

    report = await world.broadcaster().run()

    parts = world.delivered(71)
    assert report.sent == 1 and len(parts) >= 3 and parts == split_message(LONG_RTL)
    for part in parts:
        assert utf16_len(part) <= 4096
        assert_valid(part)
        assert part.startswith("<blockquote>") and part.endswith("</blockquote>")
    assert visible_text("".join(parts)).replace("\n", "") == visible_text(LONG_RTL).replace("\n", "")
    assert "\u2068GPT-2\u2069" in visible_text(parts[-1])  # isolates intact: Latin names keep their order
    row = await world.row(issue, 71)
    assert row.state == "sent" and len(row.message_ids) == len(parts) and row.extra["parts"] == len(parts)


async def test_resume_sends_only_the_parts_not_yet_sent(world):
    await world.chat(72)
    issue = await world.issue(LONG_RTL, [72])
    async with world.sessionmaker() as session, session.begin():  # an earlier run sent part 1, then stopped
        await session.execute(update(Delivery).where(Delivery.issue_id == issue).values(message_ids=[777]))

    report = await world.broadcaster().run()

    assert report.sent == 1 and world.delivered(72) == split_message(LONG_RTL)[1:]
    row = await world.row(issue, 72)
    assert row.message_ids[0] == 777 and len(row.message_ids) == len(split_message(LONG_RTL))


async def test_rows_left_sending_by_a_crash_are_settled_never_resent(world):
    for chat_id in (81, 82, 83):
        await world.chat(chat_id)
    parts = len(split_message(LONG_RTL))
    issue = await world.issue(LONG_RTL, [81, 82, 83])
    stranded = {81: list(range(1, parts + 1)), 82: [1], 83: []}  # all parts / one part / none recorded
    async with world.sessionmaker() as session, session.begin():
        for chat_id, ids in stranded.items():
            await session.execute(update(Delivery).where(Delivery.chat_id == chat_id)
                                  .values(state="sending", message_ids=ids))

    report = await world.broadcaster().run()

    assert (report.sent, report.unknown) == (1, 2) and world.fake.calls_to("sendMessage") == []
    assert (await world.row(issue, 81)).state == "sent"
    for chat_id in (82, 83):
        row = await world.row(issue, chat_id)
        assert row.state == "unknown" and "not resent" in row.error


async def test_crash_mid_broadcast_resumes_without_duplicates(world):
    world.fake.latency_s = 0.03  # keeps requests in flight when the crash comes
    chats = list(range(100, 140))
    for chat_id in chats:
        await world.chat(chat_id)
    await world.issue("<i>the weekly digest</i>", chats)
    crashing = asyncio.create_task(world.broadcaster().run())
    deadline = time.monotonic() + 20
    while len(world.fake.calls_to("sendMessage")) < 15:
        assert time.monotonic() < deadline and not crashing.done()
        await asyncio.sleep(0.005)
    crashing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashing
    left_sending = sum(row.state == "sending" for row in await world.rows())

    report = await world.broadcaster().run()

    rows = await world.rows()
    assert {row.state for row in rows} <= {"sent", "unknown"}
    unknown = [row for row in rows if row.state == "unknown"]
    assert len(unknown) == left_sending == report.unknown <= FAST["broadcast_concurrency"]
    for row in rows:
        arrived = len(world.delivered(row.chat_id))
        assert arrived == 1 if row.state == "sent" else arrived <= 1, (row.chat_id, row.state, arrived)
    assert 0 < len(chats) - len(unknown) - report.sent  # the first run really delivered some before the crash


async def test_two_broadcasters_never_send_the_same_row(world, database_url):
    chats = list(range(200, 230))
    for chat_id in chats:
        await world.chat(chat_id)
    await world.issue("<b>once</b>", chats)
    other_engine = create_engine(database_url)  # the second "process": its own engine and connections
    try:
        reports = await asyncio.gather(world.broadcaster().run(),
                                       world.broadcaster(sessionmaker=create_sessionmaker(other_engine)).run())
    finally:
        await other_engine.dispose()
    assert sum(report.sent for report in reports) == len(chats)
    assert all(world.delivered(chat_id) == ["<b>once</b>"] for chat_id in chats)


async def test_per_chat_interval_and_group_window(world):
    world.fake.limits = FloodLimits(per_chat_per_second=1)  # Telegram's 1 message/s per chat, enforced by the fake
    await world.chat(91)
    await world.chat(-92, "supergroup")  # -93 is not in the chats table: a negative id counts as a group
    for n in range(3):
        await world.issue(f"issue {n}", [91, -92, -93] if n < 2 else [-92, -93])
    settings = DigestSettings(_env_file=None, **(FAST | dict(broadcast_per_chat_interval_s=1.0,
                                                             broadcast_group_per_minute=2)))
    broadcaster = Broadcaster(world.bot, world.sessionmaker, settings, group_window_s=2.5)

    report = await broadcaster.run()

    assert report == BroadcastReport(sent=8, seconds=report.seconds)  # nothing failed, no 429 from the fake
    assert all(call.status == 200 for call in world.fake.calls)
    private = world.calls(91)
    assert private[1].at - private[0].at >= 1.0
    for group in (-92, -93):
        calls = world.calls(group)
        assert [call.params["text"] for call in calls] == ["issue 0", "issue 1", "issue 2"]
        assert calls[1].at - calls[0].at >= 1.0 and calls[2].at - calls[0].at >= 2.5


async def test_overlapping_runs_share_limits_and_leave_each_other_alone(world):
    world.fake.latency_s = 0.3  # the first run's request is still in flight when the second run starts
    world.fake.limits = FloodLimits(per_chat_per_second=1)
    await world.chat(95)
    first = await world.issue("first", [95])
    second = await world.issue("second", [95])
    broadcaster = world.broadcaster(broadcast_per_chat_interval_s=1.0)  # one instance, as the scheduler holds it

    running = asyncio.create_task(broadcaster.run([first]))
    deadline = time.monotonic() + 10
    while not world.calls(95):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)
    later = await broadcaster.run([second])  # its recover() must not take the first run's row for stranded
    earlier = await running

    assert (earlier.sent, earlier.unknown, later.sent, later.unknown) == (1, 0, 1, 0)
    calls = world.calls(95)
    assert [call.status for call in calls] == [200, 200] and calls[1].at - calls[0].at >= 1.0
    assert (await world.row(first, 95)).state == (await world.row(second, 95)).state == "sent"
