"""End to end over real HTTP, on SQLite and on PostgreSQL: the bot's webhook server on a loopback port, pointed via
TELEGRAM_API_BASE at the fake Bot API server (fakes/botapi.py) on another loopback port. Updates are the JSON
Telegram posts; what the bot did is read back from the calls the fake API recorded and from the database."""
import logging

import pytest

from tests.webhook import SECRET, TOKEN, WEBHOOK_URL, message_update


@pytest.fixture
async def webhook(make_webhook_bot):
    async with make_webhook_bot() as bot:  # its start-up ran getMe, setMyCommands, setWebhook against the fake API
        yield bot


async def test_start_registers_webhook_and_commands_in_every_language(webhook):
    fake = webhook.fake
    assert all(call.token == TOKEN for call in fake.calls)  # the token travels in the path, like api.telegram.org
    assert len(fake.calls_to("getMe")) == 1
    [set_webhook] = fake.calls_to("setWebhook")
    assert set_webhook.params["url"] == WEBHOOK_URL and set_webhook.params["secret_token"] == SECRET
    assert "message" in set_webhook.params["allowed_updates"]
    assert "callback_query" in set_webhook.params["allowed_updates"]

    registered = {(call.params["scope"]["type"], call.params.get("language_code")): call.params["commands"]
                  for call in fake.calls_to("setMyCommands")}
    assert set(registered) == {(scope, lang) for scope in ("all_private_chats", "all_group_chats",
                                                           "all_chat_administrators")
                               for lang in (None, "en", "ru", "fa", "he")}
    russian = {command["command"]: command["description"] for command in registered["all_private_chats", "ru"]}
    assert {"start", "help", "lang", "history"} <= set(russian) and "stats" not in russian  # admin-only: hidden
    assert any("а" <= char <= "я" for char in russian["help"])
    assert all("<" not in command["description"] for commands in registered.values() for command in commands)

    async with webhook.http.get(webhook.url + "/healthz") as response:
        assert response.status == 200 and await response.json() == {"status": "ok"}


async def test_commands_over_http(webhook):
    [greeting] = await webhook.say("/start", user_id=1001)
    assert "Hi, Ada" in greeting.params["text"] and greeting.params["parse_mode"] == "HTML"
    [help_] = await webhook.say("/help", user_id=1001)
    assert "/history" in help_.params["text"] and "/stats" not in help_.params["text"]
    [lang] = await webhook.say("/lang ru", user_id=1001)
    assert lang.params["text"] == "Язык: Русский."
    [help_ru] = await webhook.say("/help", user_id=1001)
    assert "Команды" in help_ru.params["text"]
    [history] = await webhook.say("/history", user_id=1001)
    assert "/start" in history.params["text"] and "/lang" in history.params["text"]
    assert [(entry.command, entry.status) for entry in await webhook.history(1001, expect=5)] == [
        ("start", "ok"), ("help", "ok"), ("lang", "ok"), ("help", "ok"), ("history", "ok")]


async def test_wrong_or_missing_secret_is_refused(webhook):
    for secret in ("wrong-secret", "", None, SECRET.upper()):
        assert await webhook.post(message_update("/start", user_id=2002), secret=secret) == 401, secret
    # A genuine update after the forged ones: once it is answered, anything the forged ones caused would show.
    await webhook.say("/start", user_id=2003)
    assert webhook.sent_to(2002) == []
    assert await webhook.history(2002) == []


async def test_flood_control_429_is_waited_out_and_the_message_arrives(webhook):
    webhook.fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    calls = await webhook.say("/start", user_id=3003, replies=2)
    assert [call.status for call in calls] == [429, 200]  # exactly one retry: not hammered, not given up
    # Retry-After honoured: the retry reached the API no sooner than asked. A lower bound only: a loaded machine
    # can only lengthen the gap, so it cannot flake (there is no upper bound on how long it took).
    assert calls[1].at - calls[0].at >= 0.95
    assert webhook.fake.delivered[-1][0] == 3003 and "Hi, Ada" in webhook.fake.delivered[-1][1]
    assert [(entry.command, entry.status) for entry in await webhook.history(3003, expect=1)] == [("start", "ok")]


# Errors a retry cannot fix. A 5xx, a 429 or a timeout is transient: the update runs again and its reply is sent
# once, with no failure recorded and no apology (tests/core/test_faults.py).
@pytest.mark.parametrize("status, description", [
    (400, "Bad Request: can't parse entities: unsupported start tag"),
    (403, "Forbidden: bot was blocked by the user"),
])
async def test_telegram_errors_are_logged_recorded_and_apologised(webhook, caplog, status, description):
    chat = 4000 + status
    caplog.set_level(logging.INFO)
    await webhook.say("/start", user_id=chat, lang="ru")  # a known user (first-contact failures: test_quota_and_errors)
    if status == 403:
        webhook.fake.blocked_chats.add(chat)  # every message to this chat fails from now on, the apology too
    else:
        webhook.fake.fail_next("sendMessage", status, description)  # the handler's reply fails, the apology works
    update = message_update("/help", user_id=chat, lang="ru")
    assert await webhook.post(update) == 200
    await webhook.wait_for(lambda: any(r.name == "bot.errors" for r in caplog.records), "the error log")
    await webhook.wait_for(lambda: len(webhook.sent_to(chat)) >= 3, "the apology attempt")

    logged = [r for r in caplog.records if r.name == "bot.errors" and str(update["update_id"]) in r.getMessage()]
    assert logged and logged[0].exc_info is not None, "the update id and the exception are logged"
    entries = await webhook.history(chat)
    assert [(entry.command, entry.status) for entry in entries] == [("start", "ok"), ("help", "error")]
    assert entries[-1].result["error"].startswith("Telegram")
    attempts = webhook.sent_to(chat)[1:]
    apology = attempts[-1].params["text"]
    assert apology.startswith("Простите")  # localized: the user's language, not the default
    if status == 403:
        assert [call.status for call in attempts] == [403, 403]
        delivered = [text for chat_id, text in webhook.fake.delivered if chat_id == chat]
        assert len(delivered) == 1 and delivered[0].startswith("Привет")  # only the greeting before the block
    else:
        assert webhook.fake.delivered[-1] == (chat, apology)
    for call in attempts:
        assert "Traceback" not in call.params["text"] and description not in call.params["text"]
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text
