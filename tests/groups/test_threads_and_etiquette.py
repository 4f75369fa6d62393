"""Forum topics and replies on every send path; group etiquette (addressed commands, other bots, mentions)."""
import json

from sqlalchemy import select

from storage.schema.core import HistoryEntry
from tests.groups.conftest import GROUP, MEMBER, Person, assert_in_topic_as_reply, sends

ADA = Person(MEMBER, "Ada", "ada_l")


async def test_answers_go_to_the_asking_topic_as_replies(group_bot):
    for text in ("/start", "/help", "/history", "/help@paper_demo_bot", "/cancel", "/history 0"):
        update = group_bot.message(text, ADA)
        calls = await group_bot.feed(update)
        assert_in_topic_as_reply(calls, update["message"]["message_id"])


async def test_general_topic_and_plain_groups_get_replies_without_a_thread(group_bot):
    update = group_bot.message("/help", ADA, thread=None)
    [reply] = sends(await group_bot.feed(update))
    assert "message_thread_id" not in reply.params
    assert reply.params["reply_parameters"]["message_id"] == update["message"]["message_id"]


async def test_private_chats_get_no_reply_parameters(group_bot):
    [reply] = sends(await group_bot.send("/help", ADA, chat_id=ADA.id))
    assert "reply_parameters" not in reply.params and "message_thread_id" not in reply.params


async def test_button_answers_stay_in_the_topic(group_bot):
    for index in range(12):
        await group_bot.send(f"/help {index}", ADA)
    [page] = sends(await group_bot.send("/history 5", ADA))
    calls = await group_bot.press(page, 0, ADA)
    edits = [call for call in calls if call.method == "editMessageText"]
    assert edits and "6–10" in edits[0].params["text"].replace("\u2068", "").replace("\u2069", "")


async def test_commands_for_other_bots_are_ignored_and_mentions_get_a_hint(group_bot):
    assert sends(await group_bot.send("/help@other_bot", ADA)) == []
    assert sends(await group_bot.send("/leak@other_bot yellow | He", ADA)) == []
    assert sends(await group_bot.send("just chatting about papers", ADA)) == []
    update = group_bot.message("hey @paper_demo_bot what can you do?", ADA)
    [hint] = sends(await group_bot.feed(update))
    assert "/help" in hint.params["text"]
    assert_in_topic_as_reply([hint], update["message"]["message_id"])
    assert sends(await group_bot.send("hey @someone_else look", ADA)) == []


async def test_group_history_shows_only_that_groups_commands(group_bot):
    await group_bot.send("/lang secretprivatewords", ADA, chat_id=ADA.id)
    await group_bot.send("/start", ADA)
    [listing] = sends(await group_bot.send("/history", ADA))
    text = listing.params["text"]
    assert "/start" in text and "secretprivatewords" not in text and "/lang" not in text
    [private] = sends(await group_bot.send("/history", ADA, chat_id=ADA.id))
    assert "secretprivatewords" in private.params["text"]


async def test_export_in_a_group_goes_to_the_private_chat(group_bot):
    await group_bot.send("/start", ADA, chat_id=ADA.id)
    update = group_bot.message("/export", ADA)
    calls = await group_bot.feed(update)
    [document] = sends(calls, "sendDocument")
    assert int(document.params["chat_id"]) == ADA.id
    assert "message_thread_id" not in document.params and "reply_parameters" not in document.params
    [note] = [call for call in sends(calls, "sendMessage") if int(call.params["chat_id"]) == GROUP]
    assert "private" in note.params["text"]
    assert_in_topic_as_reply([note], update["message"]["message_id"])


async def test_export_when_the_bot_cannot_write_privately_offers_a_deep_link(group_bot):
    group_bot.fake.blocked_chats.add(ADA.id)
    update = group_bot.message("/export", ADA)
    calls = await group_bot.feed(update)
    assert sends(calls, "sendDocument")[0].status == 403
    [note] = [call for call in sends(calls, "sendMessage") if int(call.params["chat_id"]) == GROUP]
    [[button]] = note.params["reply_markup"]["inline_keyboard"]
    assert button["url"] == "https://t.me/paper_demo_bot?start=export"
    assert_in_topic_as_reply([note], update["message"]["message_id"])
    # The user opens the private chat through the link: /start export sends the file there.
    group_bot.fake.blocked_chats.clear()
    calls = await group_bot.send("/start export", ADA, chat_id=ADA.id)
    [document] = sends(calls, "sendDocument")
    assert int(document.params["chat_id"]) == ADA.id
    async with group_bot.sessionmaker() as session:
        rows = (await session.scalars(select(HistoryEntry).where(HistoryEntry.command == "export")
                                      .order_by(HistoryEntry.id))).all()
    assert [(row.status, row.chat_id) for row in rows] == [("rejected", GROUP), ("ok", ADA.id)]


async def test_the_export_is_one_json_document(group_bot):
    await group_bot.send("/start", ADA, chat_id=ADA.id)
    calls = await group_bot.send("/export", ADA, chat_id=ADA.id)
    [document] = sends(calls, "sendDocument")
    upload = group_bot.fake.uploaded(document)
    assert upload["filename"] == f"paperbot-data-{ADA.id}.json"
    exported = json.loads(upload["content"])  # every section is checked in test_privacy.py
    assert exported["user"]["id"] == ADA.id and exported["user"]["username"] == "ada_l"
    assert [row["command"] for row in exported["history"]] == ["start"]
