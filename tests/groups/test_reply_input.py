"""Input from replies: /spell spells the replied message's first word, /submit submits the replied message; empty
replied content gets the same localized answer as empty typed input. A forum topic's implicit reply (to the topic's
creation message) is not input."""
from sqlalchemy import select

from storage.schema.core import HistoryEntry
from storage.schema.digest import DigestItem
from tests.groups.conftest import MEMBER, Person, assert_in_topic_as_reply, sends

ADA = Person(MEMBER, "Ada")
BEN = Person(MEMBER + 1, "Ben", lang="ru")


async def test_submit_as_a_reply_submits_the_replied_message(group_bot):
    post = group_bot.replied("Great read: arXiv:2408.06518 on semantic leakage", BEN)
    update = group_bot.message("/submit", ADA, reply_to=post)
    [answer] = sends(await group_bot.feed(update))
    assert "2408.06518" in answer.params["text"]
    assert_in_topic_as_reply([answer], update["message"]["message_id"])
    async with group_bot.sessionmaker() as session:
        [item] = (await session.scalars(select(DigestItem))).all()
    assert item.text == "Great read: arXiv:2408.06518 on semantic leakage"


async def test_typed_arguments_win_over_the_reply(group_bot):
    post = group_bot.replied("arXiv:2408.06518", BEN)
    await group_bot.send("/submit arXiv:2212.10562 typed", ADA, reply_to=post)
    async with group_bot.sessionmaker() as session:
        [item] = (await session.scalars(select(DigestItem))).all()
    assert item.text == "arXiv:2212.10562 typed"


async def test_empty_replied_content_gets_the_same_answers_as_empty_input(group_bot):
    photo = group_bot.replied("", BEN)
    del photo["text"]
    photo["photo"] = [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]
    [typed] = sends(await group_bot.send("/submit", ADA, thread=None))
    [replied] = sends(await group_bot.send("/submit", ADA, thread=None, reply_to=photo))
    assert replied.params["text"] == typed.params["text"]
    [typed] = sends(await group_bot.send("/spell", BEN, thread=None))
    [replied] = sends(await group_bot.send("/spell", BEN, thread=None, reply_to=photo))
    assert replied.params["text"] == typed.params["text"] and "слово" in typed.params["text"].lower()
    # In a forum topic, a command without an explicit reply "replies" to the topic's creation: no input there.
    [in_topic] = sends(await group_bot.send("/spell", BEN))
    assert in_topic.params["text"] == typed.params["text"]
    async with group_bot.sessionmaker() as session:
        statuses = (await session.scalars(select(HistoryEntry.status).where(HistoryEntry.command == "spell"))).all()
    assert statuses == ["rejected", "rejected", "rejected"]


async def test_spell_as_a_reply_spells_the_first_word(make_group_bot, hub):
    bot = await make_group_bot(hub=hub)
    post = bot.replied("strawberry fields forever", BEN)
    update = bot.message("/spell", ADA, reply_to=post)
    calls = await bot.feed(update)
    [answer] = sends(calls, "sendMessage")
    assert "strawberry" in answer.params["text"] and "fields" not in answer.params["text"]
    assert_in_topic_as_reply(calls, update["message"]["message_id"])  # the typing action too


async def test_leak_reply_errors_match_typed_input(group_bot):
    post = group_bot.replied("He works as a", BEN)
    [typed] = sends(await group_bot.send("/leak | He works as a", ADA, thread=None))
    [replied] = sends(await group_bot.send("/leak", ADA, thread=None, reply_to=post))  # no concept typed
    assert replied.params["text"] == typed.params["text"]
    photo = group_bot.replied("", BEN)
    del photo["text"]
    [typed] = sends(await group_bot.send("/leak yellow |", ADA, thread=None))
    [replied] = sends(await group_bot.send("/leak yellow", ADA, thread=None, reply_to=photo))  # nothing to continue
    assert replied.params["text"] == typed.params["text"]
    long_post = group_bot.replied("word " * 100, BEN)
    [too_long] = sends(await group_bot.send("/leak yellow", ADA, thread=None, reply_to=long_post))
    assert "300" in too_long.params["text"]


async def test_leak_as_a_reply_uses_the_replied_text_as_the_prompt(make_group_bot, hub):
    bot = await make_group_bot(hub=hub, leak_samples=2)
    post = bot.replied("He works as a", BEN)
    update = bot.message("/leak yellow", ADA, reply_to=post)
    calls = await bot.feed(update)
    assert_in_topic_as_reply(calls, update["message"]["message_id"])
    [final] = [call for call in calls if call.method == "editMessageText"]
    assert "Leak-Rate" in final.params["text"] and "He likes" in final.params["text"]
    async with bot.sessionmaker() as session:
        from storage.schema.leak import LeakResult

        stored = (await session.scalars(select(LeakResult))).one()
    assert (stored.concept, stored.control, stored.test) == ("yellow", "He works as a",
                                                            "He likes yellow. He works as a")
