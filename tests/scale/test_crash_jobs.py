"""kill -9 while a /leak's model works: the bot (`python -m bot web`, a real child process in webhook mode) is killed
with SIGKILL while the model request is held at the loopback fake's gate; the restarted bot runs the update again
from the durable inbox and finds its job's row still running: the model is not asked again, the user is told once
that their /leak was interrupted. SQLite and PostgreSQL (tests/core/test_inbox_jobs.py covers the same in one
process, faster)."""
import asyncio
import json
import signal
import time

import aiohttp
import pytest
from sqlalchemy import select

from fakes.botapi import FakeBotAPI
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade
from storage.repo import inbox as repo
from storage.schema.inbox import DONE, INTERRUPTED, JobRecord
from tests.core.test_inbox_jobs import GatedOpenAI
from tests.scale.roles_helpers import Child, free_port, wait_for_status, wait_until_up
from tests.webhook import message_update

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
SECRET = "crash-jobs-secret_7"
QUIET_SOURCES = {"ARXIV_API_BASE": "http://127.0.0.1:9/api", "DIGEST_FEEDS": ""}
USER = 5301


async def wait_for(predicate, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def notices(fake: FakeBotAPI) -> list[str]:
    return [str(call.params.get("text")) for call in fake.calls_to("sendMessage")
            if int(call.params["chat_id"]) == USER and "interrupted" in str(call.params.get("text"))]


async def test_a_leak_killed_with_sigkill_is_not_run_again_after_the_restart(database_url, tmp_path):
    engine = create_engine(database_url)
    await upgrade(engine)
    models = await GatedOpenAI(api_key="").start()
    try:
        async with FakeBotAPI() as fake:
            port = free_port()
            remote = {"remote-text": {"base_url": models.base_url, "model": "llama", "retries": 0},
                      "remote-embed": {"base_url": models.base_url, "model": "bge", "kind": "embedder"}}
            env = {"DATABASE_URL": database_url, "TELEGRAM_API_BASE": fake.base_url,
                   "WEBHOOK_URL": "https://bot.example/hook", "WEBHOOK_SECRET": SECRET, "WEBHOOK_HOST": "127.0.0.1",
                   "WEBHOOK_PORT": str(port), "REMOTE_MODELS": json.dumps(remote),
                   "DEFAULT_TEXT_MODEL": "remote-text", "DEFAULT_EMBEDDER": "remote-embed", "LEAK_SAMPLES": "2",
                   "INBOX_LEASE_S": "2", "METRICS_PORT": "0", **QUIET_SOURCES}
            base = f"http://127.0.0.1:{port}"
            first = Child("web", env, tmp_path, name="web-killed")
            try:
                await wait_until_up(first, base + "/healthz", timeout=300)
                await wait_for_status(base + "/readyz", 200)
                update = message_update("/leak yellow | He works as a", user_id=USER)
                async with aiohttp.ClientSession() as http, http.post(
                        base + "/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as answer:
                    assert answer.status == 200
                await wait_for(lambda: models.arrived > 0, "the /leak's first model request")
                first.signal(signal.SIGKILL)  # the model is at work: nothing of the run gets to finish
                assert await asyncio.to_thread(first.wait, 30) == -signal.SIGKILL
            finally:
                first.stop()
            asked = models.arrived
            models.gate.set()  # were the /leak run again, its model requests would now be answered

            second = Child("web", env, tmp_path, name="web-restarted")
            try:
                await wait_until_up(second, base + "/healthz", timeout=300)
                await wait_for(lambda: notices(fake), "the notice", timeout=60)
                sessionmaker = create_sessionmaker(engine)

                async def update_status() -> str | None:
                    async with sessionmaker() as session:
                        return await repo.status_of(session, update["update_id"])

                deadline = time.monotonic() + 30
                while await update_status() != DONE and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                await asyncio.sleep(0.5)  # a second notice or a model request, were there one, would come now
                assert await update_status() == DONE
                assert models.arrived == asked, "the model was asked again after the restart"
                [notice] = notices(fake)
                assert "/leak" in notice
                assert not fake.calls_to("editMessageText")  # no result: the work was not repeated
                async with sessionmaker() as session:
                    jobs = (await session.scalars(select(JobRecord).where(JobRecord.user_id == USER))).all()
                assert [(job.status, job.notified) for job in jobs] == [(INTERRUPTED, True)]
            finally:
                second.signal(signal.SIGTERM)
                assert await asyncio.to_thread(second.wait, 60) == 0, second.output()[-2000:]
    finally:
        models.gate.set()
        await models.stop()
        await engine.dispose()
