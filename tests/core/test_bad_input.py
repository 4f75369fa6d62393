"""Hostile and odd input through the real Dispatcher (adds to tests/core/test_commands.py, which already covers
/help@OtherBot in groups, group chatter, a 10,000-character unknown command, forged callback data, a plain
channel post and an edited /help). Every reply must be valid Telegram HTML within 4096 UTF-16 units."""
import itertools
import time

from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    Message,
    PhotoSize,
    Update,
    User as TgUser,
)
from sqlalchemy import select

from chatkit.render import FSI, MESSAGE_LIMIT, PDI, utf16_len
from handlers.i18n import Translator
from storage.schema.core import Chat as DbChat, HistoryEntry, User
from tests.core.telegram_html import assert_valid, visible_text

RTL_EMOJI = "שלום עולם 👩‍🔬 سلام دنیا 🇮🇷 (GPT-4o, 3.5%)"
ANONYMOUS_ADMIN = TgUser(id=1087968824, is_bot=True, first_name="Group", username="GroupAnonymousBot")
_ids = itertools.count(10_000)


def replies(calls):
    """Every text the bot showed, each checked against Telegram's rules on the way."""
    shown = []
    for call in calls:
        if call.text is not None:
            assert utf16_len(call.text) <= MESSAGE_LIMIT
            if call.name in ("sendMessage", "editMessageText"):
                assert_valid(call.text)
            shown.append(call.text)
    return shown


def went_wrong(calls) -> bool:
    apologies = {Translator(lang)("error-apology") for lang in ("en", "ru", "fa", "he")}
    return any(call.text in apologies for call in calls if call.text)


async def history_rows(h, user_id):
    async with h.sessionmaker() as session:
        query = select(HistoryEntry).where(HistoryEntry.user_id == user_id).order_by(HistoryEntry.id)
        return list((await session.scalars(query)).all())


async def test_ten_thousand_characters_in_every_slot(harness):
    chat = harness.chat(user_id=40)
    huge = ("word <b>&amp; " * 800)[:10_000]
    [chatter] = replies(await chat.send(huge))
    assert "I answer commands" in chatter
    [unknown_lang] = replies(await chat.send("/lang " + huge))
    assert "en, ru, fa, he" in unknown_lang and len(unknown_lang) < 600  # the echoed code is cut
    [bad_number] = replies(await chat.send("/history " + "9" * 10_000))
    assert "1 to 50" in bad_number
    unknown = replies(await chat.send("/" + "x" * 10_000))
    assert len(unknown) == 1
    [lang_row, history_row, unknown_row] = await history_rows(harness, 40)
    assert lang_row.status == "rejected" and len(lang_row.arguments) <= 4000
    assert history_row.status == "rejected" and len(history_row.arguments) <= 4000
    assert len(unknown_row.command) <= 32
    [page] = replies(await chat.send("/history"))
    assert "/lang" in page and "…" in page  # long arguments are shortened in the listing


async def test_html_metacharacters_in_names_and_arguments(make_harness):
    h = await make_harness()
    chat = h.chat(user_id=41, first_name='<b>Eve</b> & "co" <script>alert(1)</script>')
    [greeting] = replies(await chat.send("/start"))
    assert '&lt;b&gt;Eve&lt;/b&gt; &amp; &quot;co&quot; &lt;script&gt;' in greeting
    assert visible_text(greeting).startswith('Hi, <b>Eve</b> & "co" <script>')
    await chat.send("/lang </code><a href='x'>&#0;&bogus;")
    [page] = replies(await chat.send("/history"))
    assert "&lt;/code&gt;&lt;a href=&#x27;x&#x27;&gt;&amp;#0;&amp;bogus;" in page


async def test_rtl_and_emoji_stay_isolated_and_in_order(harness):
    chat = harness.chat(user_id=42, lang="he", first_name=RTL_EMOJI)
    [greeting] = replies(await chat.send("/start"))
    assert f"{FSI}{RTL_EMOJI}{PDI}" in greeting  # the name keeps its own direction inside the Hebrew sentence
    await chat.send(f"/lang {RTL_EMOJI}")
    [page] = replies(await chat.send("/history"))
    assert f"{FSI}{RTL_EMOJI}{PDI}" in page  # arguments shown in /history are isolated too
    emoji_flood = "😀" * 2100  # 4200 UTF-16 units in 2100 characters
    [reply] = replies(await harness.chat(user_id=43).send(f"/lang {emoji_flood}"))
    assert utf16_len(reply) <= MESSAGE_LIMIT and "😀" in reply and emoji_flood not in reply  # cut, whole emoji


async def test_commands_for_another_bot_are_ignored_everywhere(harness):
    private, group = harness.chat(user_id=44), harness.chat(user_id=44, chat_type="group")
    for text in ("/start@OtherBot", "/history@OtherBot 5", "/lang@other_bot ru", "/nope@OtherBot"):
        assert replies(await private.send(text)) == []
        assert replies(await group.send(text)) == []
    assert await history_rows(harness, 44) == []
    # Our own name in any letter case is ours.
    assert "Commands" in replies(await group.send("/help@Paper_Demo_Bot"))[0]


async def test_edited_messages_are_not_answered_twice(harness):
    chat = harness.chat(user_id=45)
    assert replies(await chat.send("/start"))
    for text in ("/start", "/lang ru", "/nope", "chatter"):
        assert replies(await chat.feed(chat.message_update(text, edited=True))) == []
    assert [row.command for row in await history_rows(harness, 45)] == ["start"]


async def test_stale_history_buttons(harness):
    chat = harness.chat(user_id=46)
    for _ in range(12):
        await chat.send("/start")
    page = (await chat.send("/history 5"))[-1].result
    # Forged numbers from the owner: clamped, never an error.
    for data in ("hist:46:-5:0", "hist:46:999999999999:10", "hist:46:5:100000", "hist:46:x:y", "hist:46"):
        calls = await chat.feed(chat.callback_update(page, data))
        assert calls[-1].name == "answerCallbackQuery" and not went_wrong(calls), data
    # The user forgot everything; the old page's buttons now lead to an empty history, not an error.
    confirm = (await chat.send("/forget"))[-1].result
    await chat.press(confirm, 0)
    calls = await chat.press(page, 0)
    assert not went_wrong(calls)
    assert "no requests yet" in replies(calls)[0]


async def test_buttons_on_inaccessible_messages_are_answered_without_error(harness):
    chat = harness.chat(user_id=47)
    await chat.send("/start")
    old = InaccessibleMessage(chat=chat.chat, message_id=1)
    for data in ("hist:47:0:10", "lang:ru", "forget:47:0"):
        query = CallbackQuery(id=str(next(_ids)), from_user=chat.tg_user(), chat_instance="c", message=old, data=data)
        calls = await chat.feed(Update(update_id=next(_ids), callback_query=query))
        assert not went_wrong(calls) and "answerCallbackQuery" in [call.name for call in calls], data


async def test_channel_posts_of_every_kind_are_stored_and_never_answered(harness):
    chat = harness.chat(user_id=48)
    for text in ("/history", "/lang ru", "/start", "/nope", "x" * 10_000, RTL_EMOJI):
        calls = await chat.feed(chat.channel_post_update(text, chat_id=-100_999, title="<b>ML</b> news"))
        assert [call for call in calls if call.name.startswith("send")] == [] and not went_wrong(calls), text
    async with harness.sessionmaker() as session:
        channel = await session.get(DbChat, -100_999)
        assert channel.type == "channel" and channel.title == "<b>ML</b> news"
        assert (await session.scalars(select(HistoryEntry).where(HistoryEntry.chat_id == -100_999))).all() == []


async def test_anonymous_group_admin_has_no_user_row_but_is_answered(harness):
    group = harness.chat(user_id=49, chat_type="group", chat_id=-100_555)

    async def send(text):
        message = Message(message_id=next(_ids), date=int(time.time()), chat=group.chat, from_user=ANONYMOUS_ADMIN,
                          sender_chat=group.chat, text=text)
        return await group.feed(Update(update_id=next(_ids), message=message))

    assert replies(await send("/start@paper_demo_bot"))
    assert replies(await send("/history@paper_demo_bot")) == []  # nobody's history to show
    assert "Язык" in replies(await send("/lang@paper_demo_bot ru"))[0]
    assert "Команды" in replies(await send("/help@paper_demo_bot"))[0]  # the group's language now
    async with harness.sessionmaker() as session:
        assert await session.get(User, ANONYMOUS_ADMIN.id) is None  # bots are never stored as users
        assert (await session.get(DbChat, -100_555)).language == "ru"


async def test_messages_without_text(harness):
    private, group = harness.chat(user_id=50), harness.chat(user_id=50, chat_type="group")

    def photo(chat, caption=None) -> Update:
        message = Message(message_id=next(_ids), date=int(time.time()), chat=chat.chat, from_user=chat.tg_user(),
                          photo=[PhotoSize(file_id="p", file_unique_id="u", width=1, height=1)], caption=caption)
        return Update(update_id=next(_ids), message=message)

    assert "I answer commands" in replies(await private.feed(photo(private)))[0]
    assert replies(await group.feed(photo(group))) == []
    # aiogram reads commands from captions too: a captioned command is a command.
    assert "Commands" in replies(await group.feed(photo(group, "/help@paper_demo_bot <b>")))[0]
    assert replies(await group.feed(photo(group, "/help@OtherBot"))) == []


async def test_odd_characters_are_stored_on_both_backends(make_harness, database_url):
    """NUL, lone combining marks, bidi controls and astral characters in arguments and names: PostgreSQL rejects
    NUL in text columns, so this runs on both backends."""
    h = await make_harness(database_url=database_url)
    odd = "a\u0000b \u0301 \u202e\u2066 \U0001F9EA \ufeff \U000E0001"
    chat = h.chat(user_id=51, first_name=odd)
    assert replies(await chat.send(f"/lang {odd}"))
    calls = await chat.send("/history")
    assert not went_wrong(calls) and "/lang" in replies(calls)[0]
    stored = odd.replace("\u0000", "")  # PostgreSQL cannot store NUL: the repositories drop it, on both backends
    async with h.sessionmaker() as session:
        assert (await session.get(User, 51)).first_name == stored
        assert [row.arguments for row in await history_rows(h, 51)] == [stored, ""]
