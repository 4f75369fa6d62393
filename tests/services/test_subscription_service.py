"""services/subscriptions.py and services/digest.py on the real database: the per-chat cap, parse errors as
user-input errors, unsubscribe choices, the scheduler resync only after the commit, previews, /submit and channel
posts."""
import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatkit.errors import UserInputError
from digests.config import DigestSettings
from digests.service import DigestService
from handlers.i18n import Translator
from services.digest import DigestChatService
from services.subscriptions import MAX_SUBSCRIPTIONS, SubscriptionService
from storage.schema.digest import DigestItem, Subscription


class RecordingScheduler:
    """Stands in for the digest scheduler of this process: records when it was asked to resync, and what it could
    see through its own session at that moment (a resync before the commit would see nothing)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.seen: list[int] = []

    async def sync_subscriptions(self) -> None:
        async with self.sessionmaker() as session:
            self.seen.append(await session.scalar(
                select(func.count()).select_from(Subscription).where(Subscription.active.is_(True))) or 0)


async def test_subscribe_list_and_cap(sessionmaker, people) -> None:
    async with sessionmaker() as session, session.begin():
        service = SubscriptionService(session)
        first = await service.subscribe(-100, "llm, semantic leakage lang=ru daily=08:30 size=3", "en", 1)
        assert (first.topics, first.language, first.time, first.size, first.created_by) == (
            ["llm", "semantic leakage"], "ru", "08:30", 3, 1)
        for index in range(MAX_SUBSCRIPTIONS - 1):
            await service.subscribe(-100, f"topic{index}", "fa", None)
        with pytest.raises(UserInputError) as too_many:
            await service.subscribe(-100, "one more", "en", None)
        assert too_many.value.key == "subscribe-err-too-many" and too_many.value.params == {"limit": MAX_SUBSCRIPTIONS}
        assert [s.id for s in await service.list(-100)] == sorted(s.id for s in await service.list(-100))
        assert len(await service.list(-100)) == MAX_SUBSCRIPTIONS and await service.list(1) == []


@pytest.mark.parametrize(("arguments", "code"), [("", "empty"), ("llm tz=Mars/Base", "bad-timezone"),
                                                 ("llm size=99", "bad-size")])
async def test_bad_arguments_are_user_input_errors_with_the_usage(sessionmaker, people, arguments: str,
                                                                  code: str) -> None:
    async with sessionmaker() as session, session.begin():
        with pytest.raises(UserInputError) as error:
            await SubscriptionService(session).subscribe(1, arguments, "en", 1)
    assert (error.value.key, error.value.reason, error.value.then) == (f"subscribe-err-{code}", code,
                                                                       "subscribe-usage")


async def test_unsubscribe_by_number_all_or_the_only_one(sessionmaker, people) -> None:
    async with sessionmaker() as session, session.begin():
        service = SubscriptionService(session)
        a = await service.subscribe(-100, "llm", "en", None)
        b = await service.subscribe(-100, "diffusion", "en", None)
        which = await service.unsubscribe(-100, "")  # two of them: which one?
        assert (which.removed, which.reason, [s.id for s in which.found]) == ([], "unsubscribe-which", [a.id, b.id])
        assert (await service.unsubscribe(-100, "999")).reason == "unsubscribe-which"
        assert (await service.unsubscribe(-100, f"#{a.id}")).removed == [a.id]
        assert (await service.unsubscribe(-100, "")).removed == [b.id]  # the only one left
        assert (await service.unsubscribe(-100, "all")).reason == "unsubscribe-none"
    async with sessionmaker() as session:
        assert (await session.scalars(select(Subscription.active).order_by(Subscription.id))).all() == [False, False]


async def test_the_scheduler_resyncs_after_the_commit_and_not_after_a_rollback(sessionmaker, people) -> None:
    scheduler = RecordingScheduler(sessionmaker)
    async with sessionmaker() as session, session.begin():
        await SubscriptionService(session, scheduler).subscribe(1, "llm", "en", 1)
        await asyncio.sleep(0.05)
        assert scheduler.seen == []  # not before the commit
    for _ in range(100):
        if scheduler.seen:
            break
        await asyncio.sleep(0.01)
    assert scheduler.seen == [1]  # it saw the new subscription
    async with sessionmaker() as session:
        transaction = await session.begin()
        await SubscriptionService(session, scheduler).unsubscribe(1, "all")
        await transaction.rollback()
    await asyncio.sleep(0.1)
    assert scheduler.seen == [1]


async def test_preview_submit_and_channel_posts(sessionmaker, people) -> None:
    digests = DigestService(DigestSettings(_env_file=None), sessionmaker, translator=Translator)
    async with sessionmaker() as session, session.begin():
        chat = DigestChatService(session)
        with pytest.raises(UserInputError) as none:
            await chat.preview(1, "", digests)
        assert (none.value.key, none.value.then) == ("subscriptions-none", "subscribe-usage")
        subscription = await SubscriptionService(session).subscribe(1, "leakage", "en", 1)
    await digests.load_samples()
    async with sessionmaker() as session:  # autobegin; committed below, as the update middleware does
        preview = await DigestChatService(session).preview(1, str(subscription.id), digests)
        assert preview.subscription_id == subscription.id and "Semantic Leakage" in preview.text

        chat = DigestChatService(session)
        first = await chat.submit("https://arxiv.org/abs/2212.10562v2", chat_id=1, message_id=10)
        again = await chat.submit("https://arxiv.org/abs/2212.10562v2", chat_id=1, message_id=10)
        assert (first.new, first.paper, again.new) == (True, "arxiv:2212.10562", False)
        assert (await chat.submit("A title without ids", chat_id=1, message_id=11)).paper is None
        for text, code in (("", "submit-usage"), ("x" * 5000, "submit-too-long")):
            with pytest.raises(UserInputError) as bad:
                await chat.submit(text, chat_id=1, message_id=12)
            assert bad.value.key == code

        when = subscription.created_at
        assert not await chat.channel_post(chat_id=-1009, message_id=1, text="доброе утро", title="c",
                                           published_at=when)
        assert not await chat.channel_post(chat_id=-1009, message_id=2, text="/subscribe llm", title="c",
                                           published_at=when)
        assert await chat.channel_post(chat_id=-1009, message_id=3, text="статья https://arxiv.org/abs/2408.06518",
                                       title="c", published_at=when)
        await session.commit()
    async with sessionmaker() as session:
        external = (await session.scalars(select(DigestItem.external_id).where(
            DigestItem.external_id.like("-1009:%")))).all()
    assert external == ["-1009:3"]
    await digests.close()
