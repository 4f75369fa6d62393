"""Photos, albums and background jobs in a forum topic: every outgoing call carries the topic and replies to the
command, including what a bench sends minutes after its update; a background bench is cancelled like a probe."""
import asyncio
import time

from sqlalchemy import select

from storage.schema.core import HistoryEntry
from tests.groups.conftest import BOT_ADMIN, GROUP, MEMBER, TOPIC, Person, assert_in_topic_as_reply, sends

ADA = Person(MEMBER, "Ada")
BO = Person(BOT_ADMIN, "Bo")


async def test_photo_and_album_go_to_the_topic_as_replies(image_api, make_group_bot):
    bot = await make_group_bot()
    update = bot.message("/flux a red bus", ADA)
    calls = await bot.feed(update)
    assert sends(calls, "sendPhoto")
    assert_in_topic_as_reply(calls, update["message"]["message_id"])

    update = bot.message("/fluxtest upside-down a red bus", ADA)
    calls = await bot.feed(update)
    albums = sends(calls, "sendMediaGroup")
    assert albums and all(len(call.params["media"]) <= 10 for call in albums)
    assert_in_topic_as_reply(calls, update["message"]["message_id"])


async def test_a_background_bench_answers_in_the_topic(make_group_bot, hub):
    bot = await make_group_bot(hub=hub, spell_bench_limit=1)
    update = bot.message("/spellbench", BO)
    first = await bot.feed(update)
    assert_in_topic_as_reply(first, update["message"]["message_id"])
    before = len(bot.fake.calls)
    await bot.dp["jobs"].drain()  # the bench outlives its update
    later = bot.fake.calls[before:]
    assert sends(later, "sendPhoto") and sends(later, "sendMessage")
    assert_in_topic_as_reply(later, update["message"]["message_id"])


async def test_a_background_bench_is_cancelled(make_group_bot, hub):
    bot = await make_group_bot(hub=hub, leak_bench_samples=1)
    engine = await hub.text().ready()
    await hub.embedder().ready()
    update = bot.message("/leakbench", BO)
    [status] = sends(await bot.feed(update))
    assert status.params["message_thread_id"] == TOPIC
    started = time.monotonic()
    while engine.queue.running + engine.queue.queued == 0:  # the bench is generating
        assert time.monotonic() - started < 120
        await asyncio.sleep(0.01)
    [ack] = sends(await bot.send("/cancel", BO))
    steps_at_cancel = engine.queue.steps
    assert "Stopping" in ack.params["text"]
    await bot.dp["jobs"].drain()
    edits = [call for call in bot.fake.calls_to("editMessageText") if int(call.params["chat_id"]) == GROUP]
    assert "Cancelled" in edits[-1].params["text"]
    assert not sends(bot.fake.calls, "sendPhoto")  # no chart: it stopped
    # The rows leave at the engine's next step: the step running at the cancel (a prefill of many rows can take
    # tens of seconds on a shared CPU) may finish, no further step runs for them.
    started = time.monotonic()
    while engine.queue.running or engine.queue.queued:
        assert time.monotonic() - started < 240, "the engine kept the bench's rows"
        await asyncio.sleep(0.05)
    assert engine.queue.steps <= steps_at_cancel + 1
    async with bot.sessionmaker() as session:
        rows = (await session.scalars(select(HistoryEntry).where(HistoryEntry.command == "leakbench")
                                      .order_by(HistoryEntry.id))).all()
    assert [(row.status, row.user_id, row.chat_id) for row in rows] == [("ok", BO.id, GROUP),
                                                                        ("cancelled", BO.id, GROUP)]
