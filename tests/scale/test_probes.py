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
        assert body["database"] == "ok" and body["schema"] == "at head" and body["startup"] == "ok"
        # The 429 above keeps bot_api degraded for a few seconds after its retry_after (flood control shown).
        assert body["status"] == "ready" or (body["status"] == "degraded" and body["degraded"] == ["bot_api"]), body


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


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_webhook_listens_first_and_readyz_says_the_bot_api_is_unreachable(database_url, unused_tcp_port_factory):
    """run_webhook with a Bot API that refuses connections at first, then answers getMe and setWebhook with 500 a few
    times: the webhook port answers meanwhile (/readyz 503 naming the call being retried, /healthz and the webhook
    503), then ready, and an update posted then is answered."""
    from bot.app import create_bot
    from bot.config import AppSettings
    from bot.runtime import runtime
    from bot.shutdown import Shutdown
    from bot.transports.telegram import run_webhook
    from fakes.botapi import FakeBotAPI
    from tests.webhook import SECRET, TOKEN, WEBHOOK_URL, message_update

    api_port, port = unused_tcp_port_factory(), unused_tcp_port_factory()
    fake = FakeBotAPI()
    fake.fail_next("getMe", 500, times=2)
    fake.fail_next("setWebhook", 500, times=3)
    config = AppSettings.load(env_file=None, bot_token=TOKEN, telegram_api_base=f"http://127.0.0.1:{api_port}",
                              database_url=database_url, webhook_url=WEBHOOK_URL, webhook_secret=SECRET,
                              webhook_host="127.0.0.1", webhook_port=port, digest_scheduler="off",
                              bot_api_timeout_s=3)
    base = f"http://127.0.0.1:{port}"
    seen: list[tuple[int, str]] = []  # (status, startup) of every /readyz answer
    async with runtime(config, with_models=False) as rt, aiohttp.ClientSession() as http:
        bot = create_bot(config.bot)
        shutdown = Shutdown()
        serving = asyncio.create_task(run_webhook(bot, rt.dispatcher, config.bot, shutdown))
        try:
            for _ in range(200):  # listening although the Bot API refuses every connection
                try:
                    async with http.get(base + "/readyz") as response:
                        body = await response.json()
                        seen.append((response.status, body.get("startup")))
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            async with http.get(base + "/healthz") as response:
                assert response.status == 503 and (await response.json())["status"] == "starting"
            update = message_update("/help", user_id=3301)
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with http.post(base + "/tg/hook", json=update, headers=headers) as response:
                assert response.status == 503  # Telegram resends it
            await asyncio.sleep(1.0)
            await fake.start(port=api_port)  # the Bot API is back, answering 500 to getMe and setWebhook a while
            for _ in range(600):
                async with http.get(base + "/readyz") as response:
                    body = await response.json()
                    seen.append((response.status, body.get("startup")))
                    if response.status == 200:
                        break
                await asyncio.sleep(0.02)
            assert seen[-1] == (200, "ok"), seen[-5:]
            reasons = [startup for status, startup in seen if status == 503]
            assert all(status == 503 for status, _ in seen[:-1]), seen
            assert any(r.startswith("bot api unreachable (getMe: TelegramNetworkError)") for r in reasons), reasons
            assert any(r.startswith("bot api unreachable (setWebhook: TelegramServerError)") for r in reasons), reasons
            assert len(fake.calls_to("setWebhook")) == 4
            async with http.post(base + "/tg/hook", json=update, headers=headers) as response:
                assert response.status == 200
            for _ in range(200):
                if any(int(call.params["chat_id"]) == 3301 for call in fake.calls_to("sendMessage")):
                    break
                await asyncio.sleep(0.05)
            assert len([c for c in fake.calls_to("sendMessage") if int(c.params["chat_id"]) == 3301]) == 1
        finally:
            shutdown.trigger()
            await asyncio.wait_for(serving, 30)
            await bot.session.close()
            await fake.stop()


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_a_signal_while_the_bot_api_is_unreachable_at_start_stops_the_process(database_url, mode,
                                                                                   unused_tcp_port_factory):
    """Nothing listens at the Bot API's address: start-up keeps retrying getMe, /readyz (the webhook's port, or the
    metrics port in polling mode) says so, and a signal stops the transport promptly (no inbox was started)."""
    from bot.app import create_bot
    from bot.config import AppSettings
    from bot.runtime import runtime
    from bot.shutdown import Shutdown
    from bot.transports.telegram import run_polling, run_webhook
    from tests.webhook import SECRET, TOKEN, WEBHOOK_URL

    api_port, port = unused_tcp_port_factory(), unused_tcp_port_factory()
    webhook = {"webhook_url": WEBHOOK_URL, "webhook_secret": SECRET, "webhook_host": "127.0.0.1",
               "webhook_port": port} if mode == "webhook" else {}
    config = AppSettings.load(env_file=None, bot_token=TOKEN, telegram_api_base=f"http://127.0.0.1:{api_port}",
                              database_url=database_url, digest_scheduler="off", **webhook)
    async with runtime(config, with_models=False) as rt, aiohttp.ClientSession() as http:
        bot = create_bot(config.bot)
        shutdown = Shutdown()
        probes_server = None
        if mode == "polling":
            probes_server = await metrics.serve(metrics.probes_for(rt.dispatcher, role="run"), "127.0.0.1", port)
            serving = asyncio.create_task(run_polling(bot, rt.dispatcher, config.bot, shutdown))
        else:
            serving = asyncio.create_task(run_webhook(bot, rt.dispatcher, config.bot, shutdown))
        try:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                        body = await response.json()
                        assert response.status == 503, body
                        if body["startup"].startswith("bot api unreachable (getMe: TelegramNetworkError)"):
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("/readyz never said the Bot API is unreachable")
            shutdown.trigger()
            await asyncio.wait_for(serving, 10)
        finally:
            await bot.session.close()
            if probes_server is not None:
                await probes_server.cleanup()
