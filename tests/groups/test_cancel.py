"""/cancel stops a running /leak probe at its next step: the status message says so, the history row records it, and
the engine's queue and running batch are empty afterwards (no orphan rows holding a slot)."""
import asyncio
import time

from sqlalchemy import select

from storage.schema.core import HistoryEntry
from storage.schema.leak import LeakResult
from tests.groups.conftest import CHAT_ADMIN, GROUP, MEMBER, TOPIC, Person, assert_in_topic_as_reply, plain, sends

ADA = Person(MEMBER, "Ada")
OTTO = Person(MEMBER + 1, "Otto")
CAM = Person(CHAT_ADMIN, "Cam")


async def _status_message(group_bot, deadline_s: float = 120.0):
    """The probe's "running" status message, once the bot has sent it."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        for call in group_bot.fake.calls_to("sendMessage"):
            if int(call.params["chat_id"]) == GROUP and "gemma" in call.params.get("text", ""):
                return call
        await asyncio.sleep(0.02)
    raise AssertionError("the probe never said it was running")


async def _engine_busy(engine, deadline_s: float = 60.0) -> None:
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if engine.queue.running + engine.queue.queued > 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the probe never reached the engine")


async def _engine_idle(engine, deadline_s: float = 30.0) -> None:
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if engine.queue.queued == 0 and engine.queue.running == 0 and engine.queue.reserved_tokens == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"engine not idle: queued={engine.queue.queued} running={engine.queue.running}")


async def test_cancel_stops_a_running_probe_and_frees_the_engine(make_group_bot, hub):
    bot = await make_group_bot(hub=hub, leak_samples=16, leak_max_new_tokens=64)
    engine = await hub.text().ready()  # loaded before: the cancel must hit the generation, not the loading
    await hub.embedder().ready()
    command = bot.message("/leak yellow | He works as a", ADA)
    probe = asyncio.create_task(bot.feed(command))
    status = await _status_message(bot)
    assert status.params["message_thread_id"] == TOPIC
    await _engine_busy(engine)  # the probe is generating now

    # Otto has nothing running, and may not cancel Ada's probe even by replying to it.
    [nothing] = sends(await bot.send("/cancel", OTTO))
    assert "Nothing of yours" in nothing.params["text"]
    reply = bot.replied(command["message"]["text"], ADA, message_id=command["message"]["message_id"])
    [refused] = sends(await bot.send("/cancel", OTTO, reply_to=reply))
    assert "author or a chat admin" in refused.params["text"]
    assert not probe.done()

    update = bot.message("/cancel", ADA)
    calls = await bot.feed(update)
    [ack] = sends(calls)
    assert "Stopping 1 running request" in plain(ack.params["text"])
    assert_in_topic_as_reply([ack], update["message"]["message_id"])
    await asyncio.wait_for(probe, 60)

    [final] = [call for call in bot.fake.calls_to("editMessageText") if int(call.params["chat_id"]) == GROUP]
    assert "Cancelled" in final.params["text"] and "Leak-Rate" not in final.params["text"]
    await _engine_idle(engine)
    assert not engine.queue._pending  # nothing of the probe is left waiting

    async with bot.sessionmaker() as session:
        rows = (await session.scalars(select(HistoryEntry).where(HistoryEntry.user_id == ADA.id)
                                      .order_by(HistoryEntry.id))).all()
        assert [(row.command, row.status) for row in rows] == [("leak", "cancelled"), ("cancel", "ok")] or \
            [(row.command, row.status) for row in rows] == [("cancel", "ok"), ("leak", "cancelled")]
        cancelled = next(row for row in rows if row.command == "leak")
        assert cancelled.arguments == "yellow | He works as a" and cancelled.result == {"cancelled_by": "owner"}
        assert (await session.scalars(select(LeakResult))).all() == []

    # The engine serves the next request at once: the cancelled rows hold no slot.
    [[text]] = await asyncio.wait_for(engine.generate(["The capital of France is"], max_new_tokens=3), 60)
    assert isinstance(text, str)


async def test_a_chat_admin_cancels_anyones_job(make_group_bot, hub):
    bot = await make_group_bot(hub=hub, leak_samples=16, leak_max_new_tokens=64)
    engine = await hub.text().ready()
    await hub.embedder().ready()
    probe = asyncio.create_task(bot.send("/leak yellow | She works as a", ADA))
    await _status_message(bot)
    await _engine_busy(engine)
    [ack] = sends(await bot.send("/cancel all", CAM))
    assert "Stopping 1" in plain(ack.params["text"])
    await asyncio.wait_for(probe, 60)
    await _engine_idle(engine)
    async with bot.sessionmaker() as session:
        row = (await session.scalars(select(HistoryEntry).where(HistoryEntry.command == "leak"))).one()
    assert row.user_id == ADA.id and row.status == "cancelled" and row.result == {"cancelled_by": "admin"}
