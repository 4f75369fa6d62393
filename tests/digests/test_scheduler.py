"""APScheduler 3 with its job store in the bot's database: jobs survive a restart, one cron job per subscription
follows subscription changes, and the scheduler lock lets only one process run it."""
import asyncio
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

from digests.config import DigestSettings
from digests.scheduler import JOB_TABLE, DigestScheduler, SchedulerLock, jobstore_url
from digests.service import DigestService
from handlers.i18n import Translator
from storage.db import create_sessionmaker
from storage.schema.core import Chat
from storage.schema.digest import Subscription


def make(engine, url):
    service = DigestService(DigestSettings(_env_file=None, digest_arxiv_categories="", digest_feeds=""),
                            create_sessionmaker(engine), translator=Translator)
    return DigestScheduler(service, engine, url, fetch_interval_min=60, retry_lock_s=0.2)


def stored_job_ids(url) -> set[str]:
    store = SQLAlchemyJobStore(url=jobstore_url(url), tablename=JOB_TABLE)
    store.start(None, "default")
    try:
        return {job.id for job in store.get_all_jobs()}
    finally:
        store.shutdown()


async def test_jobs_persist_follow_subscriptions_and_run_once(migrated_engine, database_url):
    sessionmaker = create_sessionmaker(migrated_engine)
    async with sessionmaker.begin() as session:
        session.add(Chat(id=77, type="private"))
        subscription = Subscription(chat_id=77, topics=["llm"], language="fa", schedule="weekly", time="07:30",
                                    weekday=5, timezone="Asia/Tehran", size=3, empty_policy="note")
        session.add(subscription)
    first = make(migrated_engine, database_url)
    assert await first.start()
    job = first.scheduler.get_job(f"digest:{subscription.id}")
    assert job is not None and "sat" in repr(job.trigger) and "Asia/Tehran" in repr(job.trigger)
    local = job.next_run_time.astimezone(job.next_run_time.tzinfo)
    assert (local.weekday(), local.hour, local.minute) == (5, 7, 30)
    assert job.misfire_grace_time == 3600 and job.coalesce

    # A second process does not get the lock and does not run jobs; it takes over when the first stops.
    second = make(migrated_engine, database_url)
    assert not await second.start()
    assert not second.running
    await first.stop()
    assert {"digest:fetch", "digest:sync", f"digest:{subscription.id}"} <= stored_job_ids(database_url)
    for _ in range(50):
        if second.running:
            break
        await asyncio.sleep(0.1)
    assert second.running, "the waiting process did not take over the scheduler"

    # Unsubscribing removes the job at the next sync; a new subscription adds one.
    async with sessionmaker.begin() as session:
        (await session.get(Subscription, subscription.id)).active = False
        daily = Subscription(chat_id=77, topics=["rlhf"], language="en", schedule="daily", time="23:59",
                             timezone="UTC", size=3, empty_policy="note")
        session.add(daily)
    await second.sync_subscriptions()
    ids = {job.id for job in second.scheduler.get_jobs()}
    assert f"digest:{daily.id}" in ids and f"digest:{subscription.id}" not in ids
    await second.stop()


async def test_a_missed_run_within_grace_runs_once_after_restart(migrated_engine, database_url):
    """A job whose time passed while the bot was down runs at start (misfire grace), once (coalesced)."""
    sessionmaker = create_sessionmaker(migrated_engine)
    async with sessionmaker.begin() as session:
        session.add(Chat(id=78, type="private"))
        subscription = Subscription(chat_id=78, topics=["llm"], language="en", schedule="daily", time="09:00",
                                    timezone="UTC", size=3, empty_policy="note")
        session.add(subscription)
    scheduler = make(migrated_engine, database_url)
    assert await scheduler.start()
    job = scheduler.scheduler.get_job(f"digest:{subscription.id}")
    await scheduler.stop()
    # Pretend the bot was down for three scheduled slots: rewind the stored next run time.
    store = SQLAlchemyJobStore(url=jobstore_url(database_url), tablename=JOB_TABLE)
    store.start(None, "default")
    stored = store.lookup_job(job.id)
    stored.next_run_time = datetime.now(UTC) - timedelta(minutes=10)
    store.update_job(stored)
    store.shutdown()

    restarted = make(migrated_engine, database_url)
    assert await restarted.start()
    async with sessionmaker() as session:
        from sqlalchemy import func, select

        from storage.schema.digest import DigestIssue
        for _ in range(100):
            if await session.scalar(select(func.count(DigestIssue.id))):
                break
            await asyncio.sleep(0.1)
        assert await session.scalar(select(func.count(DigestIssue.id))) == 1
    next_run = restarted.scheduler.get_job(job.id).next_run_time
    assert next_run > datetime.now(UTC)
    await restarted.stop()


async def test_sqlite_file_lock_is_exclusive(tmp_path, sqlite_url):
    from storage.db import create_engine

    engine = create_engine(sqlite_url)
    one, two = SchedulerLock(engine, sqlite_url), SchedulerLock(engine, sqlite_url)
    assert await one.acquire()
    assert not await two.acquire()
    await one.release()
    assert await two.acquire()
    await two.release()
    await engine.dispose()
