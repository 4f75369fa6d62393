"""Core commands through the real Dispatcher, middlewares and database."""
import json

from sqlalchemy import func, select

from storage.schema.core import Chat, HistoryEntry, User
from tests.conftest import ADMIN_ID


def texts(calls):
    return [call.text for call in calls if call.name in ("sendMessage", "editMessageText", "sendDocument")]


async def test_start_and_help_in_the_users_language(harness):
    chat = harness.chat(lang="ru-RU")
    assert "Привет, Ada" in texts(await chat.send("/start"))[0]
    help_text = texts(await chat.send("/help"))[0]
    assert "/history" in help_text and "/stats" not in help_text  # admin commands hidden from others
    admin = harness.chat(user_id=ADMIN_ID, lang="en")
    assert "/stats" in texts(await admin.send("/help"))[0]


async def test_lang_overrides_telegram_language_and_persists(harness):
    chat = harness.chat(lang="en")
    assert "Language set" not in texts(await chat.send("/lang fa"))[0]
    assert "زبان" in texts(await chat.send("/lang fa"))[0]
    reply = texts(await chat.send("/help"))[0]
    assert "فرمان‌ها" in reply
    async with harness.sessionmaker() as session:
        assert (await session.get(User, 1)).language == "fa"


async def test_lang_rejects_unknown_language(harness):
    reply = texts(await harness.chat().send("/lang xx<b>"))[0]
    assert "xx&lt;b&gt;" in reply and "en, ru, fa, he" in reply


async def test_history_pages_with_buttons_and_owner_check(harness):
    chat = harness.chat()
    for _ in range(12):
        await chat.send("/start")
    calls = await chat.send("/history 5")
    first = calls[-1].result
    assert "1–5" in first.text and first.reply_markup is not None
    calls = await chat.press(first, 0)  # "older"
    assert "6–10" in texts(calls)[0]
    stranger = harness.chat(user_id=7)
    calls = await stranger.press(first, 0)
    assert calls[-1].name == "answerCallbackQuery" and "not for you" in calls[-1].method.text


async def test_history_bad_argument(harness):
    assert "1 to 50" in texts(await harness.chat().send("/history lots"))[0]
    assert "1 to 50" in texts(await harness.chat().send("/history 0"))[0]


async def test_export_is_a_json_document_of_the_whole_history(harness):
    chat = harness.chat()
    await chat.send("/start")
    await chat.send("/lang ru")
    calls = await chat.send("/export")
    document = next(call for call in calls if call.name == "sendDocument")
    payload = json.loads(document.method.document.data)
    assert payload["user"]["id"] == 1
    assert [entry["command"] for entry in payload["history"]] == ["start", "lang"]


async def test_forget_deletes_everything_after_confirmation(harness):
    chat = harness.chat()
    await chat.send("/start")
    confirm = (await chat.send("/forget"))[-1].result
    cancel = await chat.press(confirm, 1)
    assert "Nothing was deleted" in texts(cancel)[0]
    confirm = (await chat.send("/forget"))[-1].result
    await chat.press(confirm, 0)
    async with harness.sessionmaker() as session:
        rows = select(func.count()).select_from(HistoryEntry).where(HistoryEntry.user_id == 1)
        assert await session.scalar(rows) == 0
        assert await session.get(User, 1) is None


async def test_stats_for_admins_only(harness):
    await harness.chat().send("/start")
    assert "for the bot's admins" in texts(await harness.chat().send("/stats"))[0]
    reply = texts(await harness.chat(user_id=ADMIN_ID).send("/stats"))[0]
    assert "Users: 2" in reply and "/start: 1 / 0" in reply


async def test_group_addressing(harness):
    group = harness.chat(chat_type="group")
    assert texts(await group.send("/help@paper_demo_bot"))
    assert texts(await group.send("/help@OtherBot")) == []
    assert texts(await group.send("hello everyone")) == []
    assert texts(await group.send("/unknown")) == []  # may be meant for another bot
    assert "/unknown" in texts(await group.send("/unknown@paper_demo_bot"))[0]


async def test_private_unknown_command_and_chatter(harness):
    chat = harness.chat()
    assert "I don't know /nope" in texts(await chat.send("/nope"))[0]
    assert "I answer commands" in texts(await chat.send("just chatting"))[0]


async def test_channel_post_without_sender_is_stored_and_ignored(harness):
    chat = harness.chat()
    calls = await chat.feed(chat.channel_post_update("/help <b>not html</b>"))
    async with harness.sessionmaker() as session:
        assert (await session.get(Chat, -100_777)).type == "channel"
    assert calls == []  # ignored: not a single Bot API call


async def test_edited_message_does_not_crash_and_is_not_answered(harness):
    chat = harness.chat()
    calls = await chat.feed(chat.message_update("/help", edited=True))
    assert calls == []  # neither an apology nor a second answer
    async with harness.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(HistoryEntry)) == 0


async def test_forged_callback_data_is_answered_and_changes_nothing(harness):
    chat = harness.chat()
    message = (await chat.send("/lang"))[-1].result
    for data in ("hist:1:abc:zz", "totally-unknown"):  # malformed or unknown: the stale-button answer
        calls = await chat.feed(chat.callback_update(message, data))
        assert [(c.name, c.method.text) for c in calls] == [("answerCallbackQuery", "This button has expired.")]
    calls = await chat.feed(chat.callback_update(message, "lang:xx"))  # well-formed, unknown language
    assert [c.name for c in calls] == ["answerCallbackQuery"]  # the spinner stops, nothing else happens
    async with harness.sessionmaker() as session:
        assert (await session.get(User, 1)).language is None


async def test_huge_and_rtl_and_html_input_is_escaped(harness):
    chat = harness.chat()
    [reply] = texts(await chat.send("/lang" + " <i>&" * 2500))  # 12 500 characters, echoed back in the error
    assert len(reply) <= 4096 and "&lt;i&gt;&amp;" in reply and "<i>" not in reply
    # Right-to-left input in a right-to-left reply: escaped, and isolated (FSI … PDI) so it keeps its direction.
    [reply] = texts(await harness.chat(user_id=5, lang="he").send("/lang עברית <script>"))
    assert "\u2068עברית &lt;script&gt;\u2069" in reply
