"""The issue's "done when", through the real Dispatcher: a user subscribes, /digest shows a digest built from the
bundled sample sources in the user's language, and the scheduled job (APScheduler, fired by its trigger) delivers
it to the chat once through the broadcaster."""
import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from digests.broadcast import Broadcaster
from digests.scheduler import DigestScheduler
from storage.schema.digest import Delivery, DigestIssue, Subscription


def sent_texts(harness, chat_id):
    return [c.text for c in harness.session.calls if c.name == "sendMessage" and int(c.method.chat_id) == chat_id]


async def test_subscribe_preview_and_scheduled_delivery_from_sample_sources(make_harness, hub, tmp_path):
    harness = await make_harness(hub=hub)
    service = harness.dp["digests"]
    assert await service.load_samples() > 0
    assert await service.load_samples() == 0  # stored once
    chat = harness.chat(user_id=11, lang="he")
    reply = [c.text for c in await chat.send("/subscribe דליפה סמנטית, spelling, dpo size=3") if c.text][-1]
    assert "המינוי נרשם" in reply

    preview = [c.text for c in await chat.send("/digest") if c.name == "sendMessage"][-1]
    assert "תקציר מאמרים" in preview and "מקורות:" in preview
    # "spelling" matches the character-aware paper's abstract; "dpo" only the Persian channel post about DPO.
    assert "Character-Aware Models" in preview and "Direct Preference Optimization" in preview
    assert "בשפת המקור" in preview and "אנגלית" in preview  # no translation backend: original language marked
    assert "\u2068" in preview and "<script" not in preview

    engine = harness.dp["sessionmaker"].kw["bind"]
    service.broadcaster = Broadcaster(harness.bot, service.sessionmaker, service.settings)
    scheduler = DigestScheduler(service, engine, harness.settings.database_url)
    assert await scheduler.start()
    try:
        async with harness.sessionmaker() as session:
            subscription = (await session.scalars(select(Subscription))).one()
        job = scheduler.scheduler.get_job(f"digest:{subscription.id}")
        before = len(sent_texts(harness, 11))
        job.modify(next_run_time=datetime.now(UTC))  # its time has come
        for _ in range(200):
            if len(sent_texts(harness, 11)) > before:
                break
            await asyncio.sleep(0.1)
        delivered = sent_texts(harness, 11)[before:]
        assert len(delivered) == 1 and "תקציר מאמרים" in delivered[0] and "Direct Preference" in delivered[0]
        # The broadcaster records "sent" in its own commit after Telegram's answer, so the fake can hold the message
        # a moment before the row says so (a loaded machine: ['sending'] once); wait for the row, bounded.
        states: list[str] = []
        for _ in range(100):
            async with harness.sessionmaker() as session:
                states = list((await session.scalars(select(Delivery.state))).all())
            if states != ["sending"]:
                break
            await asyncio.sleep(0.1)
        assert states == ["sent"]
        async with harness.sessionmaker() as session:
            assert len((await session.scalars(select(DigestIssue))).all()) == 1
        # The same slot again (a restart, a coalesced misfire): nothing is sent twice.
        await service.run_subscription(subscription.id)
        assert len(sent_texts(harness, 11)) == before + 1
    finally:
        await scheduler.stop()
