"""Jobs that run inside their update (/leak, /flux) are journaled: a restart or a crash while the model works does not
run them again when the inbox runs the update again; the user is told once that it was interrupted.

Through the production path on SQLite and PostgreSQL: webhook → durable inbox → Dispatcher → JobMiddleware (the
job's row committed in the update's own session before the model runs) → the fake Bot API over real HTTP, the
models behind the loopback OpenAI-compatible fake, the images behind the loopback image API fake. The fakes count
their requests: a second run of the work would show there."""
import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from fakes.openai_api import FakeOpenAI, GatedOpenAI, Scripted
from services.history import Person, Place, remember_sender
from services.privacy import forget_user
from storage.repo import inbox as repo
from storage.schema.base import utcnow
from storage.schema.core import HistoryEntry
from storage.schema.inbox import DONE, INTERRUPTED, RUNNING, JobRecord
from storage.schema.leak import LeakResult
from tests.webhook import message_update, remote_models, webhook_bot

pytestmark = pytest.mark.timeout(180)
KEY = "sk-jobs-test-key-789"


@pytest.fixture
async def models(monkeypatch):
    monkeypatch.setenv("JOBS_TEST_KEY", KEY)
    server = await GatedOpenAI(api_key=KEY).start()
    yield server
    server.gate.set()
    await server.stop()


def model_settings(server: FakeOpenAI) -> dict[str, Any]:
    return dict(**remote_models(server.base_url, "JOBS_TEST_KEY"),
                leak_samples=2, quota_user_requests=1000, quota_chat_requests=1000)


async def jobs_of(sessionmaker, user_id: int) -> list[JobRecord]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(JobRecord).where(JobRecord.user_id == user_id)
                                           .order_by(JobRecord.id))).all())


async def statuses(sessionmaker, user_id: int) -> list[tuple[str, str]]:
    async with sessionmaker() as session:
        rows = await session.execute(select(HistoryEntry.command, HistoryEntry.status)
                                     .where(HistoryEntry.user_id == user_id).order_by(HistoryEntry.id))
        return [tuple(row) for row in rows.all()]


def notices(bot, chat_id: int) -> list[str]:
    return [text for text in bot.texts_to(chat_id) if "interrupted" in text]


async def test_a_leak_finishes_with_a_done_row_and_forget_deletes_it(database_url, models, fake_botapi):
    models.gate.set()
    user = 3100
    async with webhook_bot(fake_botapi, database_url, with_models=True, **model_settings(models)) as bot:
        update = message_update("/leak yellow | He works as a", user_id=user)
        assert await bot.post(update) == 200
        await bot.wait_for(lambda: bot.fake.calls_to("editMessageText"), "the /leak result")
        await bot.inbox.drain(timeout=30)
        [job] = await jobs_of(bot.rt.sessionmaker, user)
        assert (job.status, job.kind, job.command, job.update_id, job.chat_id) == \
            (DONE, "leak", "leak", update["update_id"], user)
        assert job.finished_at is not None
        assert await statuses(bot.rt.sessionmaker, user) == [("leak", "ok")]
        async with bot.rt.sessionmaker() as session, session.begin():
            report = await forget_user(session, user)
        assert report.deleted["jobs"] == 1
        assert await jobs_of(bot.rt.sessionmaker, user) == []


async def test_a_leak_cut_by_a_restart_is_not_run_again_and_its_user_is_told_once(database_url, models,
                                                                                  fake_botapi):
    user, helper = 3200, 3201
    settings = model_settings(models)
    async with webhook_bot(fake_botapi, database_url, with_models=True, **settings) as bot:
        update = message_update("/leak yellow | He works as a", user_id=user)
        assert await bot.post(update) == 200
        await bot.wait_for(lambda: models.arrived > 0, "the /leak's first model request")
        [job] = await jobs_of(bot.rt.sessionmaker, user)  # committed before the model ran
        assert job.status == RUNNING and job.update_id == update["update_id"]
        # The job's row holds no lock while the model works: /help (which writes its user and history) answers.
        await bot.say("/help", user_id=helper)
        assert not models.gate.is_set()
        assert len(await bot.history(helper, expect=1)) == 1  # /help committed too: only the /leak is in flight
        summary = await bot.inbox.stop(grace_s=0)  # the restart cuts the /leak while its model works
        assert summary["cut"] == 1
    asked = models.arrived
    models.gate.set()  # were the /leak run again, its model requests would now be answered
    async with webhook_bot(fake_botapi, database_url, with_models=True, **settings) as bot:
        await bot.inbox.drain(timeout=30)
        await bot.wait_for(lambda: notices(bot, user), "the notice")
        await asyncio.sleep(0.3)  # a second notice, were there one, would come now
        assert models.arrived == asked  # the model was not asked again
        [notice] = notices(bot, user)
        assert "/leak" in notice
        [job] = await jobs_of(bot.rt.sessionmaker, user)
        assert (job.status, job.notified) == (INTERRUPTED, True)
        async with bot.rt.sessionmaker() as session:
            assert await repo.status_of(session, update["update_id"]) == DONE
            assert await session.scalar(select(func.count()).select_from(LeakResult)) == 0
        assert await statuses(bot.rt.sessionmaker, user) == [("leak", "interrupted")]
    async with webhook_bot(fake_botapi, database_url, with_models=True, **settings) as bot:
        await asyncio.sleep(0.3)
        assert len(notices(bot, user)) == 1  # told once, not at every start


async def test_the_interrupted_notice_goes_to_the_forum_topic_the_job_was_asked_in(database_url, models,
                                                                                    fake_botapi):
    """A /leak asked in a forum topic and cut by a restart: the notice lands in that topic (jobs.thread_id), not in
    General, where nobody following the topic would see it."""
    user, group, topic = 3250, -100_3250, 77
    chat = {"id": group, "type": "supergroup", "title": "ML papers", "is_forum": True}
    settings = model_settings(models)
    async with webhook_bot(fake_botapi, database_url, with_models=True, **settings) as bot:
        update = message_update("/leak yellow | He works as a", user_id=user, chat=chat, message_thread_id=topic,
                                is_topic_message=True)
        assert await bot.post(update) == 200
        await bot.wait_for(lambda: models.arrived > 0, "the /leak's first model request")
        [job] = await jobs_of(bot.rt.sessionmaker, user)
        assert (job.chat_id, job.thread_id) == (group, topic)
        assert (await bot.inbox.stop(grace_s=0))["cut"] == 1
    models.gate.set()
    async with webhook_bot(fake_botapi, database_url, with_models=True, **settings) as bot:
        await bot.inbox.drain(timeout=30)
        await bot.wait_for(lambda: notices(bot, group), "the notice")
        [call] = [call for call in bot.sent_to(group) if "interrupted" in str(call.params.get("text"))]
        assert int(call.params["message_thread_id"]) == topic


async def test_a_notice_whose_topic_was_deleted_goes_to_the_chat(database_url, fake_botapi):
    async with webhook_bot(fake_botapi, database_url) as bot:
        async with bot.rt.sessionmaker() as session, session.begin():
            job_id = await repo.start_job(session, kind="leak", owner="gone:1:0", command="leak", update_id=None,
                                          chat_id=-100_3260, user_id=3260, thread_id=404)
            await repo.interrupt_job(session, job_id)
        bot.fake.fail_next("sendMessage", 400, description="Bad Request: message thread not found")
        assert await bot.inbox.notify_interrupted_jobs() == 1
        [call] = [call for call in bot.sent_to(-100_3260) if call.status == 200]
        assert "interrupted" in str(call.params["text"]) and "message_thread_id" not in call.params


async def _left_by_a_dead_process(sessionmaker, update: dict[str, Any], command: str) -> None:
    """What a process killed (SIGKILL) while the job's model worked leaves: its claim on the update (lease run out),
    the sender's rows (the middleware's upserts, committed with the job's row) and the job's row, still running,
    with the heartbeat it last wrote (fresh: on PostgreSQL no sweep has seen it stale yet, so the update's next run
    is the one to find it)."""
    sender = update["message"]["from"]
    user = sender["id"]
    async with sessionmaker() as session, session.begin():
        await repo.store_updates(session, [(update["update_id"], update)])
        await repo.claim(session, owner="dead-host:1:0", limit=1, lease_s=1, now=utcnow() - timedelta(seconds=60))
        await remember_sender(session, Person(user, sender["first_name"], None, None, sender.get("language_code")),
                              Place(user, "private", None))
        await repo.start_job(session, kind=command, owner="dead-host:1:0", command=command,
                             update_id=update["update_id"], chat_id=user, user_id=user)


async def test_a_leak_whose_process_was_killed_is_not_run_again(database_url, models, fake_botapi):
    models.gate.set()
    user = 3300
    settings = model_settings(models)
    async with webhook_bot(fake_botapi, database_url, with_models=True, **settings) as bot:
        sessionmaker = bot.rt.sessionmaker
        await bot.inbox.stop(0)
    update = message_update("/leak yellow | He works as a", user_id=user)
    await _left_by_a_dead_process(sessionmaker, update, "leak")
    async with webhook_bot(fake_botapi, database_url, with_models=True, inbox_lease_s=1, **settings) as bot:
        await bot.inbox.drain(timeout=30)
        await bot.wait_for(lambda: notices(bot, user), "the notice")
        await asyncio.sleep(0.3)
        assert models.arrived == 0
        assert len(notices(bot, user)) == 1 and "/leak" in notices(bot, user)[0]
        assert [(job.status, job.notified) for job in await jobs_of(bot.rt.sessionmaker, user)] == \
            [(INTERRUPTED, True)]
        assert await statuses(bot.rt.sessionmaker, user) == [("leak", "interrupted")]


async def test_a_flux_whose_process_was_killed_is_not_run_again_and_a_new_one_runs(database_url, image_api,
                                                                                 fake_botapi):
    user = 3400
    async with webhook_bot(fake_botapi, database_url) as bot:
        sessionmaker = bot.rt.sessionmaker
        await bot.inbox.stop(0)
    update = message_update("/flux a red bus", user_id=user, lang="ru")
    await _left_by_a_dead_process(sessionmaker, update, "flux")
    async with webhook_bot(fake_botapi, database_url, inbox_lease_s=1) as bot:
        await bot.inbox.drain(timeout=30)
        await bot.wait_for(lambda: bot.texts_to(user), "the notice")
        await asyncio.sleep(0.3)
        assert image_api.calls == []  # nothing generated (and paid for) again
        [notice] = bot.texts_to(user)
        assert "/flux" in notice and "прервана" in notice  # in the user's language
        assert [(job.status, job.notified) for job in await jobs_of(bot.rt.sessionmaker, user)] == \
            [(INTERRUPTED, True)]
        # A new /flux of the same user runs as usual and ends with a done row.
        assert await bot.post(message_update("/flux a red bus", user_id=user, lang="ru")) == 200
        await bot.wait_for(lambda: bot.fake.calls_to("sendPhoto"), "the image")
        await bot.inbox.drain(timeout=30)
        assert image_api.calls
        assert [job.status for job in await jobs_of(bot.rt.sessionmaker, user)] == [INTERRUPTED, DONE]
        assert await statuses(bot.rt.sessionmaker, user) == [("flux", "interrupted"), ("flux", "ok")]


async def test_a_transient_failure_reruns_the_job_in_its_row_and_a_model_error_ends_it_failed(
        database_url, models, fake_botapi, monkeypatch):
    """A rerun after a transient failure (the Bot API answering 502 to the result's edit: the update's transaction
    is rolled back, the same process runs it again) is not an interrupted run: the job runs again in the same row,
    which ends done. A model error answered by the feature's error router ends the job failed; so does a failure no
    router answers (its end rolled back with the update's transaction, the inbox writes it with the update's)."""
    from bot.transports import inbox as inbox_module

    monkeypatch.setattr(inbox_module, "RETRY_BASE_S", 0.05)
    models.gate.set()
    user, other = 3500, 3501
    async with webhook_bot(fake_botapi, database_url, with_models=True, **model_settings(models)) as bot:
        bot.fake.fail_next("editMessageText", 502, times=4)
        assert await bot.post(message_update("/leak yellow | He works as a", user_id=user)) == 200
        await bot.inbox.drain(timeout=60)
        edits = [call for call in bot.fake.calls_to("editMessageText") if int(call.params["chat_id"]) == user]
        assert [call.status for call in edits][-1] == 200 and len(edits) > 1  # the update ran more than once
        assert [job.status for job in await jobs_of(bot.rt.sessionmaker, user)] == [DONE]
        assert notices(bot, user) == []
        assert await statuses(bot.rt.sessionmaker, user) == [("leak", "ok")]

        models.then(Scripted(status=500))  # the text model fails (no retries configured): a ModelError
        assert await bot.post(message_update("/leak yellow | He works as a", user_id=other)) == 200
        await bot.inbox.drain(timeout=60)
        assert [job.status for job in await jobs_of(bot.rt.sessionmaker, other)] == ["failed"]
        assert await statuses(bot.rt.sessionmaker, other) == [("leak", "error")]

        third = 3502
        bot.fake.fail_next("editMessageText", 400, "Bad Request: message to edit not found")  # not transient
        update = message_update("/leak yellow | He works as a", user_id=third)
        assert await bot.post(update) == 200
        await bot.inbox.drain(timeout=60)
        async with bot.rt.sessionmaker() as session:
            assert await repo.status_of(session, update["update_id"]) == "failed"
        assert [job.status for job in await jobs_of(bot.rt.sessionmaker, third)] == ["failed"]
