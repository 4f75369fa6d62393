"""Authorization in one place: each command's CommandSpec rule, enforced by the guard router for a member, a chat
admin and a bot admin; refusals localized and recorded; rules shown in /help and in the per-scope command menus."""
import pytest
from sqlalchemy import select

from bot.app import register_commands
from handlers.commands import Permission
from handlers.routers import all_commands
from storage.schema.core import Chat, HistoryEntry
from tests.groups.conftest import BOT_ADMIN, CHAT_ADMIN, GROUP, MEMBER, Person, assert_in_topic_as_reply, sends

MEMBER_P = Person(MEMBER, "Mia", lang="ru")
CHAT_ADMIN_P = Person(CHAT_ADMIN, "Cam")
BOT_ADMIN_P = Person(BOT_ADMIN, "Bo")


async def _history(group_bot, user_id: int) -> list[tuple[str, str]]:
    async with group_bot.sessionmaker() as session:
        rows = (await session.scalars(select(HistoryEntry).where(HistoryEntry.user_id == user_id)
                                      .order_by(HistoryEntry.id))).all()
    return [(row.command, row.status) for row in rows]


def test_every_command_has_one_rule_and_the_group_owned_ones_need_a_chat_admin():
    rules = {spec.name: spec.permission for spec in all_commands()}
    assert rules["lang"] is Permission.CHAT_ADMIN
    for name in ("stats", "sources", "leakbench", "spellbench"):
        assert rules[name] is Permission.BOT_ADMIN, name
    for name in ("start", "help", "history", "export", "forget", "cancel", "leak", "spell"):
        assert rules[name] is Permission.ANYONE, name


@pytest.mark.parametrize("command", ["/stats", "/sources", "/leakbench", "/spellbench"])
async def test_bot_admin_commands_refuse_members_and_chat_admins(group_bot, command):
    for person in (MEMBER_P, CHAT_ADMIN_P):
        update = group_bot.message(command, person)
        [refusal] = sends(await group_bot.feed(update))
        expected = "администраторов бота" if person.lang == "ru" else "bot's admins"
        assert expected in refusal.params["text"], refusal.params["text"]
        assert_in_topic_as_reply([refusal], update["message"]["message_id"])
        assert await _history(group_bot, person.id) == [(command[1:], "rejected")]
        async with group_bot.sessionmaker() as session:
            await session.execute(HistoryEntry.__table__.delete())
            await session.commit()


async def test_bot_admin_may_run_bot_admin_commands(group_bot):
    [answer] = sends(await group_bot.send("/stats", BOT_ADMIN_P))
    assert "Statistics" in answer.params["text"]
    assert await _history(group_bot, BOT_ADMIN) == [("stats", "ok")]


async def test_a_groups_language_is_changed_by_its_admins_only(group_bot):
    [refusal] = sends(await group_bot.send("/lang he", MEMBER_P))
    assert "администраторы группы" in refusal.params["text"]
    async with group_bot.sessionmaker() as session:
        assert (await session.get(Chat, GROUP)).language is None
    assert await _history(group_bot, MEMBER) == [("lang", "rejected")]

    [done] = sends(await group_bot.send("/lang fa", CHAT_ADMIN_P))
    assert "فارسی" in done.params["text"]
    [done] = sends(await group_bot.send("/lang en", BOT_ADMIN_P))  # a bot admin is admin everywhere
    async with group_bot.sessionmaker() as session:
        assert (await session.get(Chat, GROUP)).language == "en"
    # In a private chat the user owns the chat: anyone changes their own language.
    [own] = sends(await group_bot.send("/lang he", MEMBER_P, chat_id=MEMBER))
    assert "עברית" in own.params["text"]


async def test_the_language_keyboard_in_a_group_obeys_the_same_rule(group_bot):
    [keyboard] = sends(await group_bot.send("/lang", CHAT_ADMIN_P))
    calls = await group_bot.press(keyboard, 1, MEMBER_P)  # a member presses "Русский"
    [alert] = [call for call in calls if call.method == "answerCallbackQuery"]
    assert alert.params["show_alert"] is True and "администраторы" in alert.params["text"]
    assert not [call for call in calls if call.method == "editMessageText"]
    async with group_bot.sessionmaker() as session:
        assert (await session.get(Chat, GROUP)).language is None
    calls = await group_bot.press(keyboard, 1, CHAT_ADMIN_P)
    assert [call for call in calls if call.method == "editMessageText"]
    async with group_bot.sessionmaker() as session:
        assert (await session.get(Chat, GROUP)).language == "ru"


async def test_chat_admin_answers_are_cached_briefly(group_bot):
    for _ in range(3):
        await group_bot.send("/lang en", CHAT_ADMIN_P)
    assert len(group_bot.fake.calls_to("getChatMember")) == 1
    group_bot.fake.admins[GROUP].discard(CHAT_ADMIN)  # demoted: the cache keeps the old answer at most a minute
    group_bot.dp.workflow_data["chat_admins"].forget(GROUP)
    [refusal] = sends(await group_bot.send("/lang ru", CHAT_ADMIN_P))
    assert "admins" in refusal.params["text"]


async def test_anonymous_admins_posting_as_the_group_are_admins(group_bot):
    update = group_bot.message("/lang ru", CHAT_ADMIN_P)
    message = update["message"]
    message["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
    message["sender_chat"] = message["chat"]
    [done] = sends(await group_bot.feed(update))
    assert "Русский" in done.params["text"]


async def test_help_shows_each_commands_rule(group_bot):
    [text] = sends(await group_bot.send("/help", CHAT_ADMIN_P))
    line = next(line for line in text.params["text"].splitlines() if line.startswith("/lang"))
    assert "group admins" in line
    [private] = sends(await group_bot.send("/help", CHAT_ADMIN_P, chat_id=CHAT_ADMIN))
    line = next(line for line in private.params["text"].splitlines() if line.startswith("/lang"))
    assert "admins" not in line  # in a private chat the user owns the chat


async def test_command_menus_per_scope_and_language(group_bot):
    await register_commands(group_bot.bot, group_bot.config.bot)
    menus = {(call.params["scope"]["type"], call.params["scope"].get("chat_id"), call.params.get("language_code")):
             {command["command"] for command in call.params["commands"]}
             for call in group_bot.fake.calls_to("setMyCommands")}
    for lang in (None, "en", "ru", "fa", "he"):
        members = menus["all_group_chats", None, lang]
        admins = menus["all_chat_administrators", None, lang]
        private = menus["all_private_chats", None, lang]
        bot_admin = menus["chat", BOT_ADMIN, lang]
        assert "lang" not in members and "lang" in admins and "lang" in private
        assert {"help", "leak", "cancel"} <= members <= admins
        assert "stats" not in admins | private and {"stats", "sources", "leakbench"} <= bot_admin
    russian = {command["command"]: command["description"] for call in group_bot.fake.calls_to("setMyCommands")
               if call.params.get("language_code") == "ru" and call.params["scope"]["type"] == "chat"
               for command in call.params["commands"]}
    assert any("а" <= char <= "я" for char in russian["cancel"])
