"""The digest commands through the real Dispatcher: subscriptions per chat type and admin rights, previews,
/submit, /sources, and channel posts becoming digest items."""
from sqlalchemy import select

from storage.schema.digest import DigestItem, DigestSource, Subscription
from tests.conftest import ADMIN_ID


def texts(calls):
    return [call.text for call in calls if call.name == "sendMessage"]


async def test_subscribe_list_preview_unsubscribe_in_private(harness):
    chat = harness.chat(lang="ru")
    reply = texts(await chat.send("/subscribe llm, semantic leakage daily=08:30 tz=Europe/Moscow size=3"))[0]
    assert "Подписка оформлена" in reply and "llm, semantic leakage" in reply and "daily 08:30 Europe/Moscow" in reply
    async with harness.sessionmaker() as session:
        subscription = (await session.scalars(select(Subscription))).one()
        assert subscription.language == "ru" and subscription.chat_id == chat.chat.id  # the chat's language
    assert "#1" in texts(await chat.send("/subscriptions"))[0]
    preview = texts(await chat.send("/digest"))[0]
    assert "Предпросмотр" in preview and "новых статей нет" in preview  # empty day: an explicit note
    assert "Удалено подписок: 1" in texts(await chat.send("/unsubscribe"))[0]
    assert "нет подписок" in texts(await chat.send("/subscriptions"))[0]


async def test_bad_subscribe_syntax_is_explained_and_escaped(harness):
    chat = harness.chat()
    reply = texts(await chat.send("/subscribe <b>llm</b> tz=<i>Mars"))[0]
    assert "Unknown timezone" in reply and "&lt;i&gt;Mars" in reply and "/subscribe topics" in reply
    reply = texts(await chat.send("/subscribe"))[0]
    assert "Say what the digest is about" in reply
    reply = texts(await chat.send("/unsubscribe 99"))[0]
    assert "no digest subscriptions" in reply


async def test_only_group_admins_change_group_subscriptions(harness):
    member = harness.chat(user_id=5, chat_type="supergroup", chat_id=-100_200)
    assert "Only this chat's admins" in texts(await member.send("/subscribe@paper_demo_bot llm"))[0]
    admin = harness.chat(user_id=ADMIN_ID, chat_type="supergroup", chat_id=-100_200)
    assert "Subscribed" in texts(await admin.send("/subscribe@paper_demo_bot llm lang=he"))[0]
    # Anyone may look; only admins may remove.
    assert "#1" in texts(await member.send("/subscriptions@paper_demo_bot"))[0]
    assert "Only this chat's admins" in texts(await member.send("/unsubscribe@paper_demo_bot all"))[0]
    assert "Removed one subscription" in texts(await admin.send("/unsubscribe@paper_demo_bot all"))[0]


async def test_channel_posts_are_ingested_and_channel_admins_subscribe(harness):
    chat = harness.chat()
    post = "Новая статья про утечку: https://arxiv.org/abs/2408.06518 <b>"
    await chat.feed(chat.channel_post_update(post, chat_id=-100_9))
    await chat.feed(chat.channel_post_update("доброе утро", chat_id=-100_9))  # chatter is not a paper post
    calls = await chat.feed(chat.channel_post_update("/subscribe llm lang=ru", chat_id=-100_9))
    assert any("Подписка оформлена" in (call.text or "") or "Subscribed" in (call.text or "") for call in calls)
    async with harness.sessionmaker() as session:
        items = (await session.scalars(select(DigestItem))).all()
        assert len(items) == 1 and items[0].language == "ru" and items[0].external_id.startswith("-1009:")
        assert (await session.scalars(select(Subscription))).one().chat_id == -100_9


async def test_submit_and_sources(harness):
    chat = harness.chat()
    assert "Stored paper 2212.10562" in texts(await chat.send("/submit https://arxiv.org/abs/2212.10562v2"))[0]
    assert "no arXiv id" in texts(await chat.send("/submit A title without ids & <tags>"))[0]
    assert "/submit" in texts(await chat.send("/submit"))[0]
    assert "Too long" in texts(await chat.send("/submit " + "x" * 5000))[0]
    assert "for the bot's admins" in texts(await chat.send("/sources"))[0]
    admin = harness.chat(user_id=ADMIN_ID)
    listing = texts(await admin.send("/sources"))[0]
    assert "Digest sources" in listing and "2 items" in listing
    async with harness.sessionmaker() as session:
        assert (await session.scalars(select(DigestSource))).one().kind == "submit"


async def test_help_lists_digest_commands(harness):
    text = texts(await harness.chat().send("/help"))[0]
    assert "/subscribe" in text and "/digest" in text and "/sources" not in text
