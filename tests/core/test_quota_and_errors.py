"""Quotas for expensive handlers, the error handler, and the bot token kept out of logs and errors.

Test-only handlers are registered on the Dispatcher itself: aiogram tries a router's own handlers before its
sub-routers, so they run before the fallback router and under the same middlewares as every feature handler."""
import asyncio
import logging
import re

import pytest
from aiogram import F
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy import select

from bot import redact
from bot.app import create_bot
from fakes.botapi import FakeBotAPI
from handlers.i18n import Translator
from handlers.settings import Settings
from storage.schema.core import HistoryEntry, User

TOKEN = "987654:AAF-token-secret-part_9876543210abcdef"


def texts(calls):
    return [call.text for call in calls if call.name == "sendMessage"]


async def history_of(h, user_id):
    async with h.sessionmaker() as session:
        query = select(HistoryEntry).where(HistoryEntry.user_id == user_id).order_by(HistoryEntry.id)
        return [(entry.command, entry.status, entry.result) for entry in (await session.scalars(query)).all()]


def add_expensive_handlers(dp) -> None:
    @dp.message(Command("costly"), flags={"expensive": True})
    async def costly(message: Message, history) -> None:
        await message.answer("done")
        await history.record("costly", "")

    @dp.callback_query(F.data == "costly", flags={"expensive": True})
    async def costly_button(query: CallbackQuery, history) -> None:
        await query.answer("done")
        await history.record("costly-button", "")


# ---------- quota ----------
async def test_second_expensive_call_is_rejected_in_the_users_language(make_harness):
    h = await make_harness(quota_user_requests=1)
    add_expensive_handlers(h.dp)
    chat = h.chat(user_id=11, lang="ru")
    assert texts(await chat.send("/costly")) == ["done"]
    [rejected] = texts(await chat.send("/costly some args"))
    assert rejected == Translator("ru")("quota-wait", seconds=60)
    assert [(c, s) for c, s, _ in await history_of(h, 11)] == [("costly", "ok"), ("costly", "rejected")]
    assert (await history_of(h, 11))[-1][2] == {"reason": "quota", "retry_after_s": 60}
    # Cheap commands are never limited, and the limit is per user.
    assert "Команды" in texts(await chat.send("/help"))[0]
    assert texts(await h.chat(user_id=12).send("/costly")) == ["done"]


async def test_quota_window_slides(make_harness):
    h = await make_harness(quota_user_requests=1, quota_window_s=2)
    add_expensive_handlers(h.dp)
    chat = h.chat(user_id=13)
    assert texts(await chat.send("/costly")) == ["done"]
    [rejected] = texts(await chat.send("/costly"))
    assert re.fullmatch(r"Too many requests\. Try again in [12] s\.", rejected)  # 2 s, less a busy machine's lag
    await asyncio.sleep(2.05)
    assert texts(await chat.send("/costly")) == ["done"]


async def test_per_chat_quota_in_groups_and_for_buttons(make_harness):
    h = await make_harness(quota_user_requests=10, quota_chat_requests=2)
    add_expensive_handlers(h.dp)
    members = [h.chat(user_id=20 + index, chat_type="group") for index in range(3)]
    assert texts(await members[0].send("/costly@paper_demo_bot")) == ["done"]
    assert texts(await members[1].send("/costly@paper_demo_bot")) == ["done"]
    [rejected] = texts(await members[2].send("/costly@paper_demo_bot"))
    assert "Try again in" in rejected
    # A button press counts too, and is answered with an alert rather than a message.
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="run", callback_data="costly")]])
    message = Message(message_id=1, date=0, chat=members[2].chat, text="x", reply_markup=keyboard)
    calls = await members[2].press(message, 0)
    [answer] = [call for call in calls if call.name == "answerCallbackQuery"]
    assert "Try again in" in answer.method.text and answer.method.show_alert
    assert [(c, s) for c, s, _ in await history_of(h, 22)] == [("costly", "rejected"), ("costly", "rejected")]


# ---------- errors ----------
def add_failing_handlers(dp) -> None:
    @dp.message(Command("boom"))
    async def boom(message: Message, db_user, history) -> None:
        db_user.language = "he"  # must be rolled back with the rest of the handler's transaction
        await history.record("boom", "half-done")
        raise RuntimeError("internal detail: /srv/paperbot/secret_path.py line 42")

    @dp.callback_query(F.data == "boom")
    async def boom_button(query: CallbackQuery) -> None:
        raise KeyError("internal detail")


async def test_a_failing_handler_apologises_logs_and_records(make_harness, caplog):
    h = await make_harness()
    add_failing_handlers(h.dp)
    chat = h.chat(user_id=31, lang="fa")
    await chat.send("/start")
    caplog.set_level(logging.INFO)
    update = chat.message_update("/boom now")
    calls = await chat.feed(update)

    assert texts(calls) == [Translator("fa")("error-apology")]
    for call in calls:
        assert "internal detail" not in (call.text or "") and "Traceback" not in (call.text or "")
    [record] = [r for r in caplog.records if r.name == "bot.errors"]
    assert f"update {update.update_id} failed" in record.getMessage() and "RuntimeError" in record.getMessage()
    assert isinstance(record.exc_info[1], RuntimeError)  # the traceback goes to the log, not to the user
    assert [(c, s) for c, s, _ in await history_of(h, 31)] == [("start", "ok"), ("boom", "error")]
    assert (await history_of(h, 31))[-1][2] == {"error": "RuntimeError"}
    async with h.sessionmaker() as session:
        assert (await session.get(User, 31)).language is None, "the failed handler's writes were rolled back"


async def test_a_failing_button_gets_an_alert(make_harness):
    h = await make_harness()
    add_failing_handlers(h.dp)
    chat = h.chat(user_id=32, lang="he")
    await chat.send("/start")
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="boom")]])
    calls = await chat.press(Message(message_id=1, date=0, chat=chat.chat, text="x", reply_markup=keyboard), 0)
    [answer] = [call for call in calls if call.name == "answerCallbackQuery"]
    assert answer.method.text == Translator("he")("error-apology") and answer.method.show_alert
    assert [(c, s) for c, s, _ in await history_of(h, 32)] == [("start", "ok"), ("boom", "error")]


async def test_a_failing_first_update_is_recorded_against_the_user(make_harness):
    h = await make_harness()
    add_failing_handlers(h.dp)
    await h.chat(user_id=33).send("/boom")
    assert [(c, s) for c, s, _ in await history_of(h, 33)] == [("boom", "error")]


# ---------- the token stays secret ----------
async def test_token_never_appears_in_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    secret_part = TOKEN.split(":", 1)[1]
    errors: list[Exception] = []
    async with FakeBotAPI() as fake:
        bot = create_bot(Settings(_env_file=None, bot_token=TOKEN, telegram_api_base=fake.base_url))
        try:
            assert (await bot.get_me()).username == "paper_demo_bot"
            assert fake.calls[-1].token == TOKEN  # the token does travel, in the URL path, as Telegram wants
            for status, retry_after in ((400, None), (401, None), (403, None), (404, None), (500, None),
                                        (502, None), (429, 3600)):
                # 5xx three times: the outgoing-call pipeline (bot/outgoing.py) retries it twice before it raises.
                fake.fail_next("sendMessage", status, retry_after=retry_after, times=3 if status >= 500 else 1)
                with pytest.raises((TelegramAPIError, TelegramRetryAfter)) as caught:
                    await bot.send_message(1, "hi")
                errors.append(caught.value)
            fake.latency_s = 1.0
            with pytest.raises(TelegramNetworkError) as caught:
                await bot.send_message(1, "slow", request_timeout=0.2)
            errors.append(caught.value)
            fake.latency_s = 0.0
            await fake.stop()  # nothing listens any more: connection refused
            with pytest.raises(TelegramNetworkError) as caught:
                await bot.send_message(1, "nobody there")
            errors.append(caught.value)
        finally:
            await bot.session.close()
    for error in errors:
        logging.getLogger("bot.errors").exception("request failed", exc_info=error)
        assert secret_part not in str(error) and secret_part not in repr(error), repr(error)
    assert secret_part not in caplog.text


def test_redacting_filter_scrubs_messages_arguments_and_tracebacks():
    secrets = redact.secrets_of(Settings(_env_file=None, bot_token=TOKEN, webhook_secret="hook-secret-1"))
    assert set(secrets) == {TOKEN, "hook-secret-1"}
    redactor = redact.RedactingFilter(secrets)
    try:
        raise RuntimeError(f"GET https://api.telegram.org/bot{TOKEN}/getMe failed")
    except RuntimeError as error:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url %s secret %s", (f"/bot{TOKEN}/x",
                                   "hook-secret-1"), (type(error), error, error.__traceback__))
    assert redactor.filter(record)
    formatted = logging.Formatter().format(record)
    assert TOKEN not in formatted and "hook-secret-1" not in formatted
    assert formatted.count("[redacted]") == 3
