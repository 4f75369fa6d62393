"""Total at the edges (issue 21, holes 4-7): what arrives from outside is normalised or refused with a reason, never
a traceback, never a 5xx, never a log line with the update's body; a button is checked against the chat it is
pressed in; the parsers take ASCII digits and real IANA zones only."""
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import metrics
from bot.jsonlog import cap_third_party
from chatkit.errors import UserInputError
from chatkit.parsing import clean_payload, parse_timezone
from digests.identity import arxiv_ids, lookalike_arxiv_id, paper_key
from handlers.history import ForgetChoice
from storage.schema.digest import DigestItem
from storage.schema.inbox import InboxUpdate
from tests.webhook import message_update

ROOT = Path(__file__).resolve().parents[2]
SECRET_WORD = "wombatsecret"  # typed by the user in these tests: must never appear in a log line


# ---------------------------------------------------------------- parsers
@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "posix/Europe/Moscow", "right/UTC",
                                  "LOCALTIME", "factory"])
def test_only_real_iana_zones(zone):
    with pytest.raises(UserInputError) as raised:
        parse_timezone(zone)
    assert raised.value.key == "input-bad-timezone"


@pytest.mark.parametrize("zone, canonical", [("utc", "UTC"), ("Etc/UTC", "Etc/UTC"), ("europe/moscow", "Europe/Moscow"),
                                             ("Asia/Tehran", "Asia/Tehran")])
def test_real_zones_still_read(zone, canonical):
    assert parse_timezone(zone) == canonical


@pytest.mark.parametrize("text", ["arXiv:٢٤٠٨.٠٦٥١٨", "arxiv.org/abs/２４０８.０６５１８", "see ۲۴۰۸.۰۶۵۱۸v2"])
def test_arxiv_ids_are_ascii_digits_only(text):
    assert arxiv_ids(text) == [] and paper_key(text) is None
    assert lookalike_arxiv_id(text) is not None


def test_ascii_arxiv_ids_still_found():
    assert arxiv_ids("arXiv:2408.06518v2 and hep-th/9901001 via arxiv.org/abs/hep-th/9901001") == [
        "2408.06518", "hep-th/9901001"]
    assert lookalike_arxiv_id("arXiv:2408.06518") is None


@pytest.mark.parametrize("data", ["forget:1:yes", "forget:1:true", "forget:1:on", "forget:1:y", "forget:1:True"])
def test_forget_confirmation_is_the_exact_format(data):
    with pytest.raises(ValueError):
        ForgetChoice.unpack(data)


def test_forget_buttons_as_written_still_read():
    assert ForgetChoice.unpack(ForgetChoice(owner=5, confirm=True).pack()).confirm is True
    assert ForgetChoice.unpack(ForgetChoice(owner=5, confirm=False).pack()).confirm is False


def test_nan_and_infinity_become_null():
    assert clean_payload({"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5]}) == {"a": None,
                                                                                         "b": [None, None, 1.5]}


async def test_submit_with_other_digits_is_refused_with_a_reason(harness):
    calls = await harness.chat(user_id=31).send("/submit arXiv:٢٤٠٨.٠٦٥١٨")
    [reply] = [call for call in calls if call.name == "sendMessage"]
    assert "0–9" in reply.text and "٢٤٠٨.٠٦٥١٨" in reply.text
    async with harness.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DigestItem)) == 0  # nothing stored


# ---------------------------------------------------------------- the webhook
@pytest.fixture(autouse=True)
def _process_logging():
    cap_third_party()  # as `python -m bot` sets up its logging (bot/runtime.py setup_logging)


def _no_body_logged(caplog) -> None:
    for record in caplog.records:
        text = record.getMessage() + (logging.Formatter().formatException(record.exc_info)
                                      if record.exc_info else "")
        assert SECRET_WORD not in text, (record.name, text[:300])


async def test_an_unknown_update_kind_is_acknowledged_and_counted(make_webhook_bot, caplog):
    caplog.set_level(logging.DEBUG)
    before = metrics.REGISTRY.get_sample_value("paperbot_updates_total",
                                               {"command": "unknown_kind", "status": "skipped"}) or 0
    async with make_webhook_bot() as bot:
        assert await bot.post({"update_id": 41, "brand_new": {"text": SECRET_WORD}}) == 200
        await bot.inbox.drain(timeout=20)
        async with bot.rt.sessionmaker() as session:
            row = await session.get(InboxUpdate, 41)
        assert row is not None and row.status == "done", row and (row.status, row.error)
    after = metrics.REGISTRY.get_sample_value("paperbot_updates_total",
                                              {"command": "unknown_kind", "status": "skipped"}) or 0
    assert after == before + 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    _no_body_logged(caplog)


@pytest.mark.parametrize("database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
async def test_nan_and_infinity_in_a_body_are_stored_as_null(make_webhook_bot, caplog):
    caplog.set_level(logging.DEBUG)
    update = message_update(f"/help {SECRET_WORD}", user_id=4242)
    body = json.dumps({**update, "extra_nan": float("nan"), "deep": {"inf": float("inf"), "neg": -float("inf"),
                                                                         "big": 0.5}})
    body = body.replace('"big": 0.5', '"big": 1e400')  # read as Infinity by Python's JSON
    assert "NaN" in body and "Infinity" in body and "1e400" in body
    async with make_webhook_bot() as bot:
        assert await bot.post(None, raw=body.encode()) == 200
        await bot.wait_for(lambda: bot.replies_to(4242) >= 1, "the reply to /help")
        async with bot.rt.sessionmaker() as session:
            row = await session.get(InboxUpdate, update["update_id"])
        assert row.payload["extra_nan"] is None and row.payload["deep"] == {"inf": None, "neg": None, "big": None}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    _no_body_logged(caplog)


@pytest.mark.parametrize("database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
async def test_huge_integers_are_stored_as_strings_unless_aiogram_reads_them_as_numbers(make_webhook_bot, caplog):
    """Integers beyond 64 bits in fields aiogram does not read as integers (a field it does not know, a float) are
    stored as their decimal strings and the update is answered; in an id (an integer field) the update gets 400."""
    caplog.set_level(logging.DEBUG)
    huge, below = 10 ** 30, -(2 ** 63) - 1
    update = message_update("/help", user_id=4343)
    update["message"]["brand_new"] = {"count": huge, "list": [below, 2 ** 63 - 1]}
    update["message"]["location"] = {"latitude": huge, "longitude": 1.5}
    forged = message_update("/help", user_id=4344)
    forged["message"]["from"]["id"] = huge
    async with make_webhook_bot() as bot:
        assert await bot.post(update) == 200
        await bot.wait_for(lambda: bot.replies_to(4343) >= 1, "the reply to /help")
        await bot.inbox.drain(timeout=20)
        assert await bot.post(forged) == 400
        async with bot.rt.sessionmaker() as session:
            row = await session.get(InboxUpdate, update["update_id"])
            assert await session.get(InboxUpdate, forged["update_id"]) is None
        assert row is not None and row.status == "done", row and (row.status, row.error)
        assert row.payload["message"]["brand_new"] == {"count": str(huge), "list": [str(below), 2 ** 63 - 1]}
        assert row.payload["message"]["location"]["latitude"] == str(huge)
    assert bot.replies_to(4344) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


# ---------------------------------------------------------------- the console
def test_the_console_strips_what_the_webhook_strips(tmp_path):
    """Bytes that are not UTF-8 (a UTF-8-encoded surrogate, a lone 0xff) arrive as lone surrogates with
    surrogateescape: the handlers get U+FFFD, as over the webhook, and answer; no ValidationError."""
    env = {key: value for key, value in os.environ.items() if key != "BOT_TOKEN"}
    env.update(PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8:surrogateescape")
    completed = subprocess.run([sys.executable, "-m", "bot", "console"],
                               input=b"/help \xed\xa0\x80\n\xff hello\n/start\x00\n", capture_output=True,
                               cwd=tmp_path, env=env, timeout=300)
    stderr = completed.stderr.decode("utf-8", "replace")
    assert completed.returncode == 0, stderr
    assert "Traceback" not in stderr and "ValidationError" not in stderr, stderr
    stdout = completed.stdout.decode("utf-8", "replace")
    assert len([line for line in stdout.splitlines() if line.startswith("bot:")]) >= 3, stdout


# ---------------------------------------------------------------- a Bot API unreachable at start
async def test_an_unreachable_bot_api_at_start_is_retried_not_a_traceback(caplog, unused_tcp_port):
    import asyncio

    from bot.app import create_bot
    from bot.config import AppSettings
    from bot.transports.telegram import reach_bot_api
    from fakes.botapi import FakeBotAPI

    caplog.set_level(logging.INFO)
    config = AppSettings.load(env_file=None, bot_token="123456:AAHstartTestTokenSecretPart_0123456",
                              telegram_api_base=f"http://127.0.0.1:{unused_tcp_port}", bot_api_timeout_s=2)
    bot = create_bot(config.bot)
    fake = FakeBotAPI()
    try:
        async def come_up_later() -> None:
            await asyncio.sleep(2.0)  # nothing listens on the port until then: connection refused
            await fake.start(port=unused_tcp_port)

        later = asyncio.create_task(come_up_later())
        me = await asyncio.wait_for(reach_bot_api(bot), timeout=60)
        await later
        assert me.id == fake.bot_id
        waits = [r for r in caplog.records if "not reachable at start" in r.getMessage()]
        assert waits and all(r.levelno == logging.WARNING and not r.exc_info for r in waits)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text
    finally:
        await bot.session.close()
        await fake.stop()
