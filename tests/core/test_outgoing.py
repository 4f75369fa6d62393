"""The outgoing-call pipeline (bot/outgoing.py) through a real aiogram Bot over HTTP to the fake Bot API: what it
retries (429 after retry_after, 5xx with backoff), what it never repeats (a send that timed out), what it drops (a
failed chat action), and that the reply target and the job's status message come from the one call scope."""
import pytest
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError

from bot import metrics
from bot.app import create_bot
from bot.config import AppSettings
from bot.outgoing import OutgoingCalls
from fakes.botapi import FakeBotAPI
from handlers.jobs import RunningJob
from handlers.outgoing import current_scope, scoped
from handlers.sending import ReplyTarget

TOKEN = "123456:AAHoutgoingTestTokenSecretPart_01234"


@pytest.fixture
async def world():
    async with FakeBotAPI() as fake:
        bot = create_bot(AppSettings.load(env_file=None, bot_token=TOKEN, telegram_api_base=fake.base_url).bot)
        try:
            yield fake, bot
        finally:
            await bot.session.close()


def _requests(method: str, outcome: str) -> float:
    return metrics.BOT_API_REQUESTS.labels(method=method, outcome=outcome)._value.get()


async def test_5xx_is_retried_with_backoff_and_every_attempt_is_counted(world):
    fake, bot = world
    errors, oks = _requests("SendMessage", "error"), _requests("SendMessage", "ok")
    fake.fail_next("sendMessage", 502, times=2)
    await bot.send_message(7, "hello")
    assert [call.status for call in fake.calls_to("sendMessage")] == [502, 502, 200]
    assert (_requests("SendMessage", "error") - errors, _requests("SendMessage", "ok") - oks) == (2, 1)
    fake.fail_next("sendMessage", 500, times=3)  # bounded: the third failure goes up (the inbox reruns the update)
    with pytest.raises(TelegramServerError):
        await bot.send_message(7, "again")


async def test_a_long_retry_after_is_not_waited_here(world):
    fake, bot = world
    fake.fail_next("sendMessage", 429, retry_after=3600)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(7, "flood")
    assert len(fake.calls_to("sendMessage")) == 1


async def test_a_send_that_timed_out_is_not_repeated_and_a_failed_chat_action_is_dropped(world):
    fake, bot = world
    fake.latency_s = 1.0
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(7, "slow", request_timeout=0.2)  # it may have arrived: never sent twice
    fake.latency_s = 0.0
    assert len(fake.calls_to("sendMessage")) == 1
    fake.fail_next("sendChatAction", 502)
    assert await bot.send_chat_action(7, "typing") is True  # a hint: dropped, not raised
    assert len(fake.calls_to("sendChatAction")) == 1


async def test_the_scope_targets_the_topic_and_names_the_jobs_status_message(world):
    fake, bot = world
    job = RunningJob(1, chat_id=-100, user_id=5, command="leak")
    target = ReplyTarget(chat_id=-100, chat_type="supergroup", thread_id=9, reply_to=44, user_id=5)
    with scoped(target=target, job=job):
        status = await bot.send_message(-100, "running…")
        await bot.send_message(-100, "second")
        await bot.send_message(5, "elsewhere")  # another chat: its own rules
    assert current_scope().target is None  # the block's scope is gone
    first, _second, other = fake.calls_to("sendMessage")
    assert first.params["message_thread_id"] == 9 and first.params["reply_parameters"]["message_id"] == 44
    assert "message_thread_id" not in other.params
    assert job.status_message_id == status.message_id  # the first message to its chat, what /cancel edits
    assert OutgoingCalls.of(bot).journal is None  # no inbox: nothing journaled


def test_answer_models_are_built_once_not_after_every_garbage_collection(monkeypatch):
    """aiogram parses each answer with `Response[method.__returning__]`; pydantic keeps that class only weakly, so it
    was rebuilt (schema and all) after every garbage collection. The pipeline pins one per method."""
    import gc

    from aiogram.client.session.base import Response
    from aiogram.methods import SendMessage
    from aiogram.types import Message
    from pydantic._internal import _generics

    from bot import outgoing

    built: list[object] = []
    original = _generics.create_generic_submodel
    monkeypatch.setattr(_generics, "create_generic_submodel", lambda *a, **k: built.append(a) or original(*a, **k))
    outgoing._pin_response_model(SendMessage(chat_id=1, text="x"))
    built.clear()
    for _ in range(3):
        gc.collect()
        assert Response[Message] is outgoing._RESPONSE_MODELS[SendMessage]
    assert built == []
