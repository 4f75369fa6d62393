"""/metrics, /healthz and /readyz over real HTTP on loopback: in the webhook app (fake Bot API behind it) and on the
separate metrics port that polling and the scheduler role use."""
import asyncio

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from storage.db import create_engine


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a /metrics body (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                return item.value
    return 0.0


@pytest.fixture
async def webhook(make_webhook_bot):
    async with make_webhook_bot(digest_scheduler="auto") as bot:
        yield bot


async def scrape(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url + "/metrics") as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
        return await response.text()


async def test_webhook_serves_metrics_and_readiness(webhook):
    before = await scrape(webhook.http, webhook.url)
    await webhook.say("/help", user_id=3001)
    await webhook.say("/nosuchcommand", user_id=3001)
    webhook.fake.fail_next("sendMessage", 429, retry_after=1)
    await webhook.say("/help", user_id=3001)  # the first attempt gets 429, the retry goes through

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    # The reply goes out before the update's transaction ends: wait for the third update to be counted.
    for _ in range(200):
        after = await scrape(webhook.http, webhook.url)
        if (sum(grew("paperbot_updates_total", command=c, status="ok") for c in ("help", "unknown_command")) >= 3
                and sample(after, "paperbot_inbox_updates", state="done") >= 3):
            break
        await asyncio.sleep(0.05)

    assert grew("paperbot_updates_total", command="help", status="ok") == 2
    assert grew("paperbot_updates_total", command="unknown_command", status="ok") == 1
    assert grew("paperbot_handler_seconds_count", command="help") == 2
    assert grew("paperbot_bot_api_429_total", method="SendMessage") == 1
    assert grew("paperbot_bot_api_requests_total", method="SendMessage", outcome="ok") == 3
    assert sample(after, "paperbot_inbox_updates", state="done") >= 3  # counted in the database
    assert "process_resident_memory_bytes" in after

    async with webhook.http.get(webhook.url + "/readyz") as response:
        body = await response.json()
        assert response.status == 200, body
        assert body["status"] == "ready" and body["database"] == "ok" and body["schema"] == "at head"


async def test_readyz_says_what_is_wrong(tmp_path, database_url):
    engine = create_engine(database_url)  # never migrated
    probes = metrics.Probes(engine=engine, role="web")
    runner = await metrics.serve(probes, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{metrics.bound_port(runner)}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/readyz") as response:
                body = await response.json()
                assert response.status == 503 and "python -m bot migrate" in body["schema"]
            async with http.get(url + "/healthz") as response:  # alive all the same
                assert response.status == 200 and (await response.json())["role"] == "web"
            await scrape(http, url)  # and /metrics answers without the tables
            probes.require_scheduler = True  # a scheduler replica without the lock is not ready
            async with http.get(url + "/readyz") as response:
                assert response.status == 503 and (await response.json())["scheduler"] == "waiting for the lock"
        unreachable = metrics.Probes(engine=create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none"),
                                     timeout_s=2)
        ready, checks = await unreachable.readiness()
        assert not ready and checks["database"].startswith("unreachable")
        await unreachable.engine.dispose()
    finally:
        await runner.cleanup()
        await engine.dispose()
