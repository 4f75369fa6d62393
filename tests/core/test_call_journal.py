"""The Bot API call journal's undecided case (bot/transports/calls.py): a call whose intent was journaled but whose
answer was lost with the process. A new message is then assumed sent (never twice); an edit is sent again, because
repeating an edit shows the user nothing twice ("message is not modified" when it had arrived). Through a real
aiogram Bot over HTTP to the fake Bot API, with the journal on a SQLite file."""
import pytest
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest

from bot.app import create_bot
from bot.config import AppSettings
from bot.transports.calls import CallJournal, install
from fakes.botapi import FakeBotAPI
from handlers.outgoing import JournalPosition, scoped

TOKEN = "123456:AAHjournalTestToken_0123456789abcdef"
UPDATE = 4242


@pytest.fixture
async def world(tmp_path):
    fake = await FakeBotAPI().start()
    journal = await CallJournal.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}")
    settings = AppSettings.load(env_file=None, bot_token=TOKEN, telegram_api_base=fake.base_url).bot
    bot = create_bot(settings, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
    middleware = install(bot, journal)
    yield fake, journal, bot, middleware
    await bot.session.close()
    await journal.close()
    await fake.stop()


async def replay(journal: CallJournal, intents: list[str]) -> None:
    """What a dead first run left: an intent for each call, in order, and no answers."""
    for seq, method in enumerate(intents, 1):
        await journal.intend(UPDATE, seq, method)


async def test_an_undecided_edit_is_sent_again_and_an_undecided_message_is_not(world):
    fake, journal, bot, middleware = world
    await replay(journal, ["sendMessage", "editMessageText"])
    with scoped(journal=JournalPosition(UPDATE, replay=True)):
        status = await bot.send_message(7, "running…")  # assumed sent: a stand-in comes back
        await bot.edit_message_text("the result", chat_id=7, message_id=status.message_id)
    assert fake.calls_to("sendMessage") == []
    assert [call.params["text"] for call in fake.calls_to("editMessageText")] == ["the result"]
    assert middleware.replayed == 1
    answered = await journal.recall(UPDATE, 2)
    assert answered is not None and answered.answered  # a third run would not repeat it either


async def test_an_edit_that_had_arrived_is_not_an_error(world):
    fake, journal, bot, _middleware = world
    await replay(journal, ["editMessageText"])
    fake.fail_next("editMessageText", 400, "Bad Request: message is not modified: specified new message content "
                                            "and reply markup are exactly the same as a current content")
    with scoped(journal=JournalPosition(UPDATE, replay=True)):
        await bot.edit_message_text("the result", chat_id=7, message_id=5)
    assert (await journal.recall(UPDATE, 1)).answered


async def test_outside_a_replay_not_modified_is_still_an_error(world):
    fake, _journal, bot, _middleware = world
    fake.fail_next("editMessageText", 400, "Bad Request: message is not modified")
    with scoped(journal=JournalPosition(UPDATE, replay=False)):
        with pytest.raises(TelegramBadRequest):
            await bot.edit_message_text("same", chat_id=7, message_id=5)


async def test_a_send_cut_while_out_stays_undecided_and_one_cut_between_attempts_is_forgotten(world):
    """A shutdown cancels an update at its deadline. Cut while its request is out (the fake holds it: Telegram may
    act on it), the intent stays undecided and the next run treats it as sent; cut while it waits out a 429 between
    attempts (nothing is out), the intent is forgotten and the next run sends it."""
    import asyncio

    fake, journal, bot, _middleware = world
    fake.inject("hang", 1.0, hang_s=5.0, hang_delivers=True)

    async def cut_after(seconds: float, update_id: int) -> None:
        with scoped(journal=JournalPosition(update_id, replay=False)):
            task = asyncio.ensure_future(bot.send_message(7, f"reply to {update_id}"))
            await asyncio.sleep(seconds)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    await cut_after(0.5, UPDATE)
    fake.inject(None)
    undecided = await journal.recall(UPDATE, 1)
    assert undecided is not None and not undecided.answered
    fake.fail_next("sendMessage", 429, retry_after=3)
    await cut_after(0.5, UPDATE + 1)  # answered 429 at once: cut in the 3 s wait before the next attempt
    assert await journal.recall(UPDATE + 1, 1) is None
    with scoped(journal=JournalPosition(UPDATE, replay=True)):
        await bot.send_message(7, f"reply to {UPDATE}")
    with scoped(journal=JournalPosition(UPDATE + 1, replay=True)):
        await bot.send_message(7, f"reply to {UPDATE + 1}")
    sent = [call.params["text"] for call in fake.calls_to("sendMessage")]
    assert sent == [f"reply to {UPDATE}", f"reply to {UPDATE + 1}", f"reply to {UPDATE + 1}"]
