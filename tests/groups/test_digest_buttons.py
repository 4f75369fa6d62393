"""A digest delivered into a forum goes to the topic its subscription chose, with 👍/👎 per paper (stored per reader)
and an unsubscribe button only the group's admins may use."""
from sqlalchemy import select

from digests.broadcast import Broadcaster
from handlers.i18n import Translator
from storage.schema.digest import Subscription
from storage.schema.groups import DigestVote
from tests.groups.conftest import BOT_ADMIN, CHAT_ADMIN, GROUP, MEMBER, TOPIC, Person, plain, sends

CAM = Person(CHAT_ADMIN, "Cam")
MIA = Person(MEMBER, "Mia")
OTTO = Person(MEMBER + 1, "Otto", lang="ru")


async def _deliver(group_bot) -> tuple[int, dict]:
    """/subscribe in the topic, then the subscription's issue delivered by the broadcaster: (subscription id, the
    recorded sendMessage params)."""
    service = group_bot.dp["digests"]
    assert await service.load_samples() > 0
    await service.group()
    [ack] = sends(await group_bot.send("/subscribe leakage, spelling, dpo size=3", CAM))
    assert ack.params["message_thread_id"] == TOPIC
    async with group_bot.sessionmaker() as session:
        subscription = (await session.scalars(select(Subscription))).one()
    assert subscription.thread_id == TOPIC  # the topic /subscribe was sent in
    issue = await service.build_issue(subscription.id)
    assert issue is not None and issue.papers > 0
    broadcaster = Broadcaster(group_bot.bot, group_bot.sessionmaker, group_bot.config.digests, translator=Translator)
    before = len(group_bot.fake.calls_to("sendMessage"))
    report = await broadcaster.run([issue.issue_id])
    assert report.sent == 1
    [digest] = [call for call in group_bot.fake.calls_to("sendMessage")[before:]
                if int(call.params["chat_id"]) == GROUP]
    return subscription.id, digest.params


async def test_the_digest_goes_to_the_topic_with_vote_and_unsubscribe_buttons(group_bot):
    subscription_id, digest = await _deliver(group_bot)
    assert digest["message_thread_id"] == TOPIC
    assert "reply_parameters" not in digest  # nothing to reply to: it was not asked for in this update
    buttons = [button for row in digest["reply_markup"]["inline_keyboard"] for button in row]
    assert buttons[0]["text"] == "👍 1" and buttons[1]["text"] == "👎 1"
    assert buttons[-1]["text"] == "🔕 Unsubscribe"
    papers = (len(buttons) - 1) // 2

    from tests.groups.conftest import Call

    message = Call("t", "sendMessage", digest, 0.0)
    calls = await group_bot.press(message, 0, MIA)  # 👍 on paper 1
    [toast] = [call for call in calls if call.method == "answerCallbackQuery"]
    assert "Paper 1: 👍 1 · 👎 0" in plain(toast.params["text"])
    calls = await group_bot.press(message, 1, OTTO)  # 👎 on paper 1, in Russian
    assert "👍 1 · 👎 1" in plain([c for c in calls if c.method == "answerCallbackQuery"][0].params["text"])
    await group_bot.press(message, 1, MIA)  # Mia changes her mind: one vote per reader and paper
    if papers > 1:
        await group_bot.press(message, 2, MIA)
    async with group_bot.sessionmaker() as session:
        votes = sorted((v.user_id, v.value) for v in (await session.scalars(select(DigestVote))).all())
    expected = sorted([(MIA.id, -1), (OTTO.id, -1)] + ([(MIA.id, 1)] if papers > 1 else []))
    assert votes == expected

    # /sources (the bot's admins) shows the readers' votes.
    [listing] = sends(await group_bot.send("/sources", Person(BOT_ADMIN, "Bo"), chat_id=BOT_ADMIN))
    assert "Readers' votes" in listing.params["text"] and "👎 2" in plain(listing.params["text"])

    # Unsubscribe: a member is refused (alert, rejected row); the group's admin stops it.
    calls = await group_bot.press(message, len(buttons) - 1, MIA)
    [alert] = [call for call in calls if call.method == "answerCallbackQuery"]
    assert alert.params["show_alert"] is True and "admins" in alert.params["text"]
    async with group_bot.sessionmaker() as session:
        assert (await session.get(Subscription, subscription_id)).active
    calls = await group_bot.press(message, len(buttons) - 1, CAM)
    assert [call for call in calls if call.method == "editMessageReplyMarkup"]
    async with group_bot.sessionmaker() as session:
        assert not (await session.get(Subscription, subscription_id)).active
