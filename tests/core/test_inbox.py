"""The durable inbox over real HTTP on SQLite and PostgreSQL: the webhook stores before it answers 200, a duplicate
update_id is acknowledged and ignored, a restart processes what was left, leases are retaken from a dead process,
shutdown answers 503 and gives back what it cut, interrupted jobs are reported, polling resumes from its stored
offset, bodies of the wrong shape get a 4xx, and the inbox is pruned. The fake Bot API counts the replies."""
import asyncio
import logging
from datetime import timedelta

from sqlalchemy import func, select

from bot.app import create_bot
from bot.config import AppSettings
from bot.runtime import runtime
from bot.transports import telegram
from bot.transports.inbox import Inbox
from fakes.botapi import FakeBotAPI
from storage.repo import inbox as repo
from storage.schema.base import utcnow
from storage.schema.inbox import InboxUpdate, JobRecord
from tests.webhook import TOKEN, message_update


async def test_stored_before_200_and_a_duplicate_is_acknowledged_and_ignored(make_webhook_bot):
    async with make_webhook_bot() as bot:
        update = message_update("/start", user_id=501)
        assert await bot.post(update) == 200
        async with bot.rt.sessionmaker() as session:  # stored (committed) by the time Telegram hears 200
            assert await session.get(InboxUpdate, update["update_id"]) is not None
        assert await bot.post(update) == 200  # Telegram resends after a timeout: acknowledged again
        await bot.inbox.drain()
        assert await bot.post(update) == 200  # ... even after it was processed
        await bot.inbox.drain()
        assert bot.replies_to(501) == 1
        assert await bot.history_count(501) == 1
        async with bot.rt.sessionmaker() as session:
            assert await repo.status_of(session, update["update_id"]) == "done"


async def test_concurrent_duplicates_are_processed_once(make_webhook_bot):
    async with make_webhook_bot() as bot:
        updates = [message_update("/start", user_id=600 + index) for index in range(30)]
        statuses = await asyncio.gather(*(bot.post(update) for update in updates for _ in range(3)))
        assert set(statuses) == {200}
        await bot.inbox.drain()
        assert [bot.replies_to(600 + index) for index in range(30)] == [1] * 30
        assert [await bot.history_count(600 + index) for index in range(30)] == [1] * 30


async def test_a_restart_processes_what_was_left_including_a_dead_process_claim(make_webhook_bot):
    async with make_webhook_bot() as bot:
        sessionmaker = bot.rt.sessionmaker
    left = [message_update("/start", user_id=700 + index) for index in range(5)]
    async with sessionmaker() as session, session.begin():  # stored by a process that then died
        await repo.store_updates(session, [(u["update_id"], u) for u in left])
        await repo.claim(session, owner="dead-host:1:0", limit=2, lease_s=0.5,
                         now=utcnow() - timedelta(seconds=5))  # its lease ran out long ago
    async with make_webhook_bot(inbox_lease_s=1) as bot:
        await bot.inbox.drain()
        assert [bot.replies_to(700 + index) for index in range(5)] == [1] * 5
        assert [await bot.history_count(700 + index) for index in range(5)] == [1] * 5


async def test_leases_claim_disjoint_sets_and_a_lost_lease_rolls_back(make_webhook_bot):
    async with make_webhook_bot() as bot:
        sessionmaker = bot.rt.sessionmaker
        await bot.inbox.stop(0)  # claim by hand from here on
        updates = [message_update("/start", user_id=800 + index) for index in range(40)]
        async with sessionmaker() as session, session.begin():
            await repo.store_updates(session, [(u["update_id"], u) for u in updates])

        async def claim(owner: str) -> list[int]:
            async with sessionmaker() as session, session.begin():
                return [row.update_id for row in await repo.claim(session, owner=owner, limit=15, lease_s=60)]

        claimed = await asyncio.gather(*(claim(f"owner-{n}") for n in range(4)))
        flat = [update_id for part in claimed for update_id in part]
        assert len(flat) == len(set(flat)) == 40  # nobody got an update somebody else holds

        first = flat[0]  # any claimed update: with 4 × 15 asked for 40, whoever claims last may get none
        owner = next(f"owner-{n}" for n, part in enumerate(claimed) if first in part)
        async with sessionmaker() as session, session.begin():  # the lease ran out; another process takes it
            await session.execute(InboxUpdate.__table__.update().where(InboxUpdate.update_id == first)
                                  .values(lease_until=utcnow() - timedelta(seconds=1)))
        async with sessionmaker() as session, session.begin():
            retaken = await repo.claim(session, owner="owner-new", limit=50, lease_s=60)
        assert [row.update_id for row in retaken] == [first] and retaken[0].attempts == 2
        async with sessionmaker() as session, session.begin():
            assert not await repo.complete(session, first, owner)  # the old owner's finish is refused
            assert await repo.complete(session, first, "owner-new")


async def test_webhook_rejects_bodies_of_the_wrong_shape_with_4xx(make_webhook_bot, caplog):
    caplog.set_level(logging.INFO)
    async with make_webhook_bot() as bot:
        bad = [b"not json", b"[1, 2]", b'"text"', b"{}", b'{"update_id": "7"}', b'{"update_id": -1}',
               b'{"update_id": 1e3}', b'{"update_id": 99999999999999999999}',
               b'{"update_id": 12, "message": "hello"}',
               b'{"update_id": 13, "message": {"message_id": 1}}',
               b'{"update_id": 14, "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"},'
               b' "from": {"id": 100000000000000000000, "is_bot": false, "first_name": "x"}}}',
               b"\xff\xfe"]
        for raw in bad:
            assert await bot.post(None, raw=raw) == 400, raw
        assert await bot.post(message_update("/start", user_id=901), secret=None) == 401
        good = message_update("/start\x00 \ud800", user_id=902)  # NUL and a lone surrogate: stored cleaned
        assert await bot.post(good) == 200
        await bot.inbox.drain()
        assert bot.replies_to(902) == 1
        async with bot.rt.sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(InboxUpdate)) == 1
    assert "Task exception was never retrieved" not in caplog.text
    assert "webhook body rejected" in caplog.text


async def test_shutdown_answers_503_finishes_in_flight_and_gives_back_what_it_cut(make_webhook_bot):
    async with make_webhook_bot() as bot:
        bot.fake.latency_s = 0.5  # every Bot API call takes half a second
        updates = [message_update("/start", user_id=1000 + index) for index in range(6)]
        assert {await bot.post(update) for update in updates} == {200}
        await asyncio.sleep(0.2)  # claimed and in flight
        stopping = asyncio.create_task(bot.inbox.stop(grace_s=5))
        await asyncio.sleep(0.05)
        assert await bot.post(message_update("/start", user_id=1099)) == 503  # Telegram will retry it
        async with bot.http.get(bot.url + "/healthz") as response:
            assert response.status == 503
        summary = await stopping
        assert summary["cut"] == 0 and summary["pending"] == 0
        assert [bot.replies_to(1000 + index) for index in range(6)] == [1] * 6

    # A deadline too short: the cut updates go back and run whole at the next start.
    async with make_webhook_bot() as bot:
        bot.fake.latency_s = 1.0
        updates = [message_update("/start", user_id=1100 + index) for index in range(4)]
        assert {await bot.post(update) for update in updates} == {200}
        await asyncio.sleep(0.3)
        summary = await bot.inbox.stop(grace_s=0.1)
        assert summary["cut"] >= 1 and summary["pending"] == summary["cut"]
        assert [await bot.history_count(1100 + index) for index in range(4)] == [0] * 4  # rolled back
    async with make_webhook_bot() as bot:
        bot.fake.latency_s = 0.0
        await bot.inbox.drain()
        assert [await bot.history_count(1100 + index) for index in range(4)] == [1] * 4


async def test_an_interrupted_job_is_reported_to_its_user_after_the_restart(make_webhook_bot):
    async with make_webhook_bot() as bot:
        jobs = bot.rt.dispatcher["jobs"]
        started = asyncio.Event()

        async def long_work() -> None:
            started.set()
            await asyncio.sleep(3600)

        jobs.spawn(long_work(), name="leakbench-test", bot=bot.inbox.bot,
                   sessionmaker=bot.rt.sessionmaker, chat_id=1200, user_id=1200, command="leakbench",
                   cancelled_text="cancelled")
        await started.wait()
        await asyncio.sleep(0.1)
        async with bot.rt.sessionmaker() as session:
            [job] = (await session.scalars(select(JobRecord))).all()
            assert job.status == "running" and job.chat_id == 1200
        await bot.inbox.stop(0)
        await jobs.cancel_all()  # what the runtime does at shutdown
        async with bot.rt.sessionmaker() as session:
            [job] = (await session.scalars(select(JobRecord))).all()
            assert job.status == "interrupted"
    async with make_webhook_bot() as bot:
        notices = [call for call in bot.fake.calls_to("sendMessage") if int(call.params["chat_id"]) == 1200]
        assert len(notices) == 1 and "/leakbench" in notices[0].params["text"]
        assert "interrupted" in notices[0].params["text"]
    async with make_webhook_bot() as bot:  # told once, not at every start
        assert len([c for c in bot.fake.calls_to("sendMessage") if int(c.params["chat_id"]) == 1200]) == 1


async def test_pruning_keeps_unfinished_and_recent_updates(make_webhook_bot):
    async with make_webhook_bot(inbox_retention_h=1) as bot:
        await bot.inbox.stop(0)
        sessionmaker = bot.rt.sessionmaker
        rows = [message_update("/start", user_id=1300 + index) for index in range(3)]
        async with sessionmaker() as session, session.begin():
            await repo.store_updates(session, [(u["update_id"], u) for u in rows])
            table = InboxUpdate.__table__
            await session.execute(table.update().where(table.c.update_id == rows[0]["update_id"])
                                  .values(status="done", finished_at=utcnow() - timedelta(hours=2)))
            await session.execute(table.update().where(table.c.update_id == rows[1]["update_id"])
                                  .values(status="done", finished_at=utcnow()))
        assert await bot.inbox.prune() == (1, 0)
        async with sessionmaker() as session:
            left = set((await session.scalars(select(InboxUpdate.update_id))).all())
        assert left == {rows[1]["update_id"], rows[2]["update_id"]}


class PollingAPI(FakeBotAPI):
    """getUpdates that behaves like Telegram's: returns queued updates from `offset`, forgets confirmed ones."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: list[dict] = []
        self.offsets: list[int | None] = []
        self.lost_confirmation = False  # the next getUpdates ignores its offset once (a confirmation that was lost)

    def _result(self, method, params):
        if method == "getUpdates":
            offset = params.get("offset")
            self.offsets.append(offset)
            if self.lost_confirmation:
                self.lost_confirmation = False
                return list(self.queue)
            if offset is not None:
                self.queue = [u for u in self.queue if u["update_id"] >= int(offset)]
            return list(self.queue)
        return super()._result(method, params)


async def test_polling_resumes_from_the_stored_offset_and_dedupes(database_url):
    async with PollingAPI() as fake:
        config = AppSettings.load(env_file=None, bot_token=TOKEN, telegram_api_base=fake.base_url,
                                  database_url=database_url, digest_scheduler="off")
        for round_ in range(2):
            async with runtime(config, with_models=False) as rt:
                bot = create_bot(config.bot)
                inbox = Inbox.from_settings(bot, rt.dispatcher, config.bot)
                await telegram.prepare(bot, rt.dispatcher, config.bot)
                await inbox.start()
                if round_ == 0:
                    sent = [message_update("/start", user_id=1400 + index) for index in range(5)]
                    fake.queue = list(sent)
                else:  # Telegram sends them again: the inbox already holds them
                    fake.queue, fake.lost_confirmation = list(sent), True
                poller = asyncio.create_task(telegram.poll(bot, inbox, ["message"], timeout_s=0))
                await asyncio.sleep(0.5)
                poller.cancel()
                await asyncio.gather(poller, return_exceptions=True)
                await inbox.drain()
                await inbox.stop(1)
                await bot.session.close()
        assert fake.offsets[-1] == max(u["update_id"] for u in sent) + 1
        assert fake.queue == []  # all confirmed
        assert [sum(1 for c in fake.calls_to("sendMessage") if int(c.params["chat_id"]) == 1400 + index)
                for index in range(5)] == [1] * 5


async def test_a_reply_sent_before_a_crash_is_not_sent_again(make_webhook_bot):
    """The first run sent its reply and died before its commit: the second run gets the journaled answer back
    (or, when the answer was lost too, a stand-in) instead of sending again; its history row is written once."""
    from bot.transports.calls import CallJournal

    async with make_webhook_bot() as bot:
        sessionmaker = bot.rt.sessionmaker
        url = bot.rt.engine.url.render_as_string(hide_password=False)
        await bot.inbox.stop(0)
    answered, ambiguous, fresh = (message_update("/start", user_id=1500 + index) for index in range(3))
    journal = await CallJournal.open(url)
    async with sessionmaker() as session, session.begin():
        await repo.store_updates(session, [(u["update_id"], u) for u in (answered, ambiguous, fresh)])
        # the dead process's claim (attempt 1), long expired
        await repo.claim(session, owner="dead:1:0", limit=3, lease_s=1, now=utcnow() - timedelta(seconds=60))
    sent = {"message_id": 77, "date": 1, "chat": {"id": 1500, "type": "private"}, "text": "Hi"}
    await journal.intend(answered["update_id"], 1, "sendMessage")
    await journal.answer(answered["update_id"], 1, sent)
    await journal.intend(ambiguous["update_id"], 1, "sendMessage")  # the answer was lost with the process
    await journal.close()
    async with make_webhook_bot(inbox_lease_s=1) as bot:
        await bot.inbox.drain()
        assert (bot.replies_to(1500), bot.replies_to(1501), bot.replies_to(1502)) == (0, 0, 1)
        assert [await bot.history_count(1500 + index) for index in range(3)] == [1, 1, 1]
        assert bot.inbox._calls_middleware is not None and bot.inbox._calls_middleware.replayed == 2


async def test_a_lease_that_ran_out_under_load_is_not_claimed_again_by_its_own_process(make_webhook_bot):
    async with make_webhook_bot() as bot:
        sessionmaker = bot.rt.sessionmaker
        await bot.inbox.stop(0)
        updates = [message_update("/start", user_id=1600 + index) for index in range(3)]
        async with sessionmaker() as session, session.begin():
            await repo.store_updates(session, [(u["update_id"], u) for u in updates])
            first = await repo.claim(session, owner="me", limit=3, lease_s=1, now=utcnow() - timedelta(seconds=60))
        running = [row.update_id for row in first[:2]]  # still working on two of them; all three leases ran out
        async with sessionmaker() as session, session.begin():
            again = await repo.claim(session, owner="me", limit=10, lease_s=30, running=running)
        assert [row.update_id for row in again] == [first[2].update_id]


async def test_a_stalled_run_that_lost_its_lease_sends_nothing_and_commits_nothing(make_webhook_bot):
    """Two owners of one inbox. The first stalls in slow work (released session) until its lease runs out (its
    heartbeat stops, as when its loop or its link to the database freezes); the second claims the update and
    finishes it. When the first wakes up, its claim is stale: its next journaled send is refused before it leaves
    (NotClaimed), its writes roll back. The chat got exactly one reply and has one history row."""
    from aiogram import F, Router
    from aiogram.types import Message

    from services.history import record_entry
    from storage.db import released

    gate, stalled = asyncio.Event(), asyncio.Event()
    async with make_webhook_bot(inbox_lease_s=1) as bot:
        first = bot.inbox
        first.single_process = False  # SQLite is for one process; two owners of one file happen only here
        second_bot = create_bot(bot.rt.settings.bot)
        second = Inbox(second_bot, bot.rt.dispatcher, bot.rt.sessionmaker, lease_s=1, poll_s=0.1,
                       single_process=False, owner="replica-2")
        router = Router(name="stall-test")

        @router.message(F.text == "/stalltest")
        async def stall(message: Message, session, bot) -> None:  # session, bot: injected by the dispatcher
            async with released(session):  # slow work: no connection, no lock held
                if bot is first.bot and not gate.is_set():
                    stalled.set()
                    await gate.wait()
            await record_entry(session, user_id=message.chat.id, chat_id=message.chat.id, command="stalltest",
                               arguments="", status="ok")
            await message.answer("done")

        dp = bot.rt.dispatcher
        router.parent_router = dp
        dp.sub_routers.insert(0, dp.sub_routers.pop())  # before the routers that answer any command
        first._loops[1].cancel()  # the first owner's heartbeat stops: its lease runs out in 1 s
        update = message_update("/stalltest", user_id=1700)
        assert await bot.post(update) == 200
        await asyncio.wait_for(stalled.wait(), 10)
        await second.start()
        try:
            await bot.wait_for(lambda: bot.replies_to(1700) == 1, "the second owner's reply")
            await second.drain(10)
            async with bot.rt.sessionmaker() as session:
                assert await repo.status_of(session, update["update_id"]) == "done"
            gate.set()  # the first owner wakes up
            await bot.wait_for(lambda: not first._running, "the first owner's run to end")
            await asyncio.sleep(0.2)
            assert bot.replies_to(1700) == 1  # nothing new sent by the stale run
            assert await bot.history_count(1700) == 1  # its history row rolled back
            async with bot.rt.sessionmaker() as session:
                row = await session.get(InboxUpdate, update["update_id"])
                assert row is not None and row.status == "done" and row.owner == "replica-2"
        finally:
            await second.stop(1)
            await second_bot.session.close()
