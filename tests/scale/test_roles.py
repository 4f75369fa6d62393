"""`python -m bot web | scheduler | migrate` as real child processes against loopback fakes: the web role refuses a
schema not at head, serves /metrics and /readyz in polling and webhook mode, answers /leak with remote text and
embedding backends and no local model; one scheduler holds the lock and a standby takes over when it is killed."""
import asyncio
import json
import signal
import subprocess
import sys
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fakes.openai_api import FakeOpenAI
from storage.db import create_engine
from storage.migrate import upgrade
from tests.core.test_inbox import PollingAPI
from tests.scale.roles_helpers import Child, free_port, get, wait_for_status, wait_until_up
from tests.webhook import message_update

pytestmark = pytest.mark.timeout(300)
SECRET = "roles-secret_1"
QUIET_SOURCES = {"ARXIV_API_BASE": "http://127.0.0.1:9/api", "DIGEST_FEEDS": ""}


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name}


async def migrated(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()


async def wait_for(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def metric_at_least(url: str, name: str, labels: tuple, value: float, timeout: float = 30) -> str:
    """/metrics once `name{labels}` reached `value` (the reply leaves before the update's transaction ends)."""
    deadline = time.monotonic() + timeout
    while True:
        _, body = await get(url + "/metrics")
        if samples(body, name).get(labels, 0) >= value or time.monotonic() > deadline:
            assert samples(body, name).get(labels, 0) >= value, f"{name}{labels} never reached {value}"
            return body
        await asyncio.sleep(0.1)


async def test_web_refuses_an_old_schema_then_polls_with_probes(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    async with PollingAPI() as fake:
        port = free_port()
        env = {"DATABASE_URL": url, "TELEGRAM_API_BASE": fake.base_url, "METRICS_PORT": str(port), **QUIET_SOURCES}
        refused = Child("web", env, tmp_path, name="web-refused")
        assert await asyncio.to_thread(refused.wait, 120) == 2
        assert "python -m bot migrate" in refused.output() and "Traceback" not in refused.output()

        migrate = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "bot", "migrate"], cwd=tmp_path, capture_output=True,
            text=True, timeout=120, env={**Child.base_env(), "DATABASE_URL": url})
        assert migrate.returncode == 0, migrate.stderr

        web = Child("web", env, tmp_path)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_until_up(web, base + "/healthz")
            ready = json.loads(await wait_for_status(base + "/readyz", 200))
            assert ready["role"] == "web" and ready["schema"] == "at head" and "scheduler" not in ready
            fake.queue.append(message_update("/help", user_id=5101))
            await wait_for(lambda: any(int(c.params["chat_id"]) == 5101 for c in fake.calls_to("sendMessage")),
                           "the reply to /help")
            await metric_at_least(base, "paperbot_updates_total", (("command", "help"), ("status", "ok")), 1)
        finally:
            web.signal(signal.SIGTERM)
            assert await asyncio.to_thread(web.wait, 60) == 0, web.output()[-2000:]
        assert "digest scheduler started" not in web.output()  # the web role never runs it


async def test_web_webhook_answers_leak_with_remote_models_only(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    await migrated(url)
    async with PollingAPI() as fake, FakeOpenAI() as openai:
        port = free_port()
        remote = {"remote-text": {"base_url": openai.base_url, "model": "llama"},
                  "remote-embed": {"base_url": openai.base_url, "model": "bge", "kind": "embedder"}}
        env = {"DATABASE_URL": url, "TELEGRAM_API_BASE": fake.base_url, "WEBHOOK_URL": "https://bot.example/hook",
               "WEBHOOK_SECRET": SECRET, "WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": str(port),
               "REMOTE_MODELS": json.dumps(remote), "DEFAULT_TEXT_MODEL": "remote-text",
               "DEFAULT_EMBEDDER": "remote-embed", "METRICS_PORT": "0", **QUIET_SOURCES}
        web = Child("web", env, tmp_path)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_until_up(web, base + "/healthz")
            await wait_for_status(base + "/readyz", 200)
            import aiohttp

            update = message_update("/leak yellow | He works as a", user_id=5201)
            async with aiohttp.ClientSession() as http, http.post(
                    base + "/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                assert response.status == 200

            def answered() -> bool:
                return any("remote-text" in str(c.params.get("text", "")) and "yellow" in str(c.params.get("text"))
                           for c in fake.calls_to("editMessageText"))

            await wait_for(answered, "the /leak result", timeout=120)
            body = await metric_at_least(base, "paperbot_updates_total", (("command", "leak"), ("status", "ok")), 1)
            requests = samples(body, "paperbot_remote_requests_total")
            assert requests[(("model", "remote-text"),)] >= 1 and requests[(("model", "remote-embed"),)] >= 1
            # No local engine was created: only the two remote ones appear, and none has a queue.
            assert {dict(labels)["model"] for labels in requests} == {"remote-text", "remote-embed"}
            assert samples(body, "paperbot_engine_queue_depth") == {}
            assert samples(body, "paperbot_updates_total")[(("command", "leak"), ("status", "ok"))] == 1
        finally:
            web.signal(signal.SIGTERM)
            assert await asyncio.to_thread(web.wait, 60) == 0, web.output()[-2000:]


@pytest.mark.postgres
async def test_one_scheduler_leads_and_a_standby_takes_over(tmp_path, empty_postgres_url):
    await migrated(empty_postgres_url)
    async with PollingAPI() as fake:
        ports = [free_port(), free_port()]
        children = [Child("scheduler", {"DATABASE_URL": empty_postgres_url, "TELEGRAM_API_BASE": fake.base_url,
                                        "METRICS_PORT": str(port), "SCHEDULER_LOCK_RETRY_S": "0.5",
                                        **QUIET_SOURCES}, tmp_path, name=f"scheduler-{i}")
                    for i, port in enumerate(ports)]
        try:
            for child, port in zip(children, ports, strict=True):
                await wait_until_up(child, f"http://127.0.0.1:{port}/healthz")
            await asyncio.sleep(1.0)
            statuses = [(await get(f"http://127.0.0.1:{port}/readyz"))[0] for port in ports]
            assert sorted(statuses) == [200, 503], statuses  # exactly one holds the lock
            leader = statuses.index(200)
            standby = 1 - leader
            _, body = await get(f"http://127.0.0.1:{ports[standby]}/readyz")
            assert json.loads(body)["scheduler"] == "waiting for the lock"
            children[leader].signal(signal.SIGKILL)
            await asyncio.to_thread(children[leader].wait, 30)
            body = await wait_for_status(f"http://127.0.0.1:{ports[standby]}/readyz", 200, timeout=30)
            assert json.loads(body)["scheduler"] == "holds the lock"
            _, metrics_body = await get(f"http://127.0.0.1:{ports[standby]}/metrics")
            assert samples(metrics_body, "paperbot_scheduler_leader")[()] == 1
            assert not fake.calls_to("getUpdates")  # the scheduler role handles no updates
        finally:
            for child in children:
                child.signal(signal.SIGTERM)
            for child in children:
                await asyncio.to_thread(child.wait, 60)
