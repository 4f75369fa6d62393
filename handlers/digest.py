"""Paper digests in the chat: /subscribe, /subscriptions, /unsubscribe, /digest (preview), /sources (admins),
/submit, and ingestion of posts in channels where the bot is a member (services/subscriptions.py and
services/digest.py decide and store, digests/ does the work; this module parses, calls the services and renders)."""
from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.render import escape, isolate
from digests.service import DigestService
from digests.subscription import describe
from handlers.commands import EVERYWHERE, CommandSpec, Permission, command_input
from handlers.failures import feature_router
from handlers.i18n import Html, Translator
from handlers.profile import explained_lines
from handlers.sending import answer_long
from handlers.settings import Settings
from services.digest import DigestChatService
from services.history import HistoryRecorder
from services.profile import ProfileService
from services.subscriptions import Resync, SubscriptionService
from storage.schema.digest import DigestSource, Subscription

commands = [
    # A group's subscriptions (and the topic its digest goes to) are the group's: its admins change them.
    CommandSpec("subscribe", "cmd-subscribe", usage_key="subscribe-usage", chat_types=EVERYWHERE,
                permission=Permission.CHAT_ADMIN),
    CommandSpec("subscriptions", "cmd-subscriptions"),
    CommandSpec("unsubscribe", "cmd-unsubscribe", permission=Permission.CHAT_ADMIN),
    CommandSpec("digest", "cmd-digest", expensive=True),
    CommandSpec("submit", "cmd-submit", usage_key="submit-usage"),
    CommandSpec("sources", "cmd-sources", admin_only=True),
]


def subscription_line(subscription: Subscription) -> str:
    topics = ", ".join(subscription.topics or [])
    return (f"<b>#{subscription.id}</b> {isolate(escape(topics))} · {subscription.language} · "
            f"{escape(describe(subscription))} · {subscription.size} · {subscription.empty_policy}")


def source_line(src: DigestSource, l10n: Translator) -> str:
    health = "✅" if src.failures == 0 and src.last_ok_at else ("⚠️" if src.failures else "⏳")
    line = (f"{health} <b>{isolate(escape(src.name))}</b> · {src.kind} · "
            + l10n("sources-items", count=src.items_total)
            + (" · " + l10n("sources-last-ok", when=src.last_ok_at.strftime("%Y-%m-%d %H:%M"))
               if src.last_ok_at else ""))
    if src.failures:
        line += "\n   " + l10n("sources-failing", count=src.failures, error=(src.last_error or "")[:200])
    return line


async def subscribe(message: Message, command: CommandObject, bot: Bot, settings: Settings, session: AsyncSession,
                    l10n: Translator, history: HistoryRecorder, digest_scheduler: Resync | None = None) -> None:
    # Who may: the command's CommandSpec rule (CHAT_ADMIN), checked by the guard router before this runs.
    history.begin("subscribe", command.args or "")
    subscription = await SubscriptionService(session, digest_scheduler).subscribe(
        message.chat.id, command.args, l10n.lang, message.from_user.id if message.from_user else None)
    # In a forum the digest goes to the topic /subscribe was sent in (General when sent there).
    subscription.thread_id = message.message_thread_id if message.is_topic_message else None
    await message.answer(Html(l10n("subscribe-done") + "\n" + subscription_line(subscription)))
    await history.record("subscribe", command.args or "", result={"subscription": subscription.id})


async def subscriptions(message: Message, session: AsyncSession, l10n: Translator) -> None:
    found = await SubscriptionService(session).list(message.chat.id)
    if not found:
        await message.answer(Html(l10n("subscriptions-none") + "\n" + l10n("subscribe-usage")))
        return
    await answer_long(message, Html("\n".join([l10n("subscriptions-title")] + [subscription_line(s) for s in found])))


async def unsubscribe(message: Message, command: CommandObject, bot: Bot, settings: Settings, session: AsyncSession,
                      l10n: Translator, history: HistoryRecorder, digest_scheduler: Resync | None = None) -> None:
    history.begin("unsubscribe", command.args or "")
    outcome = await SubscriptionService(session, digest_scheduler).unsubscribe(message.chat.id, command.args)
    if not outcome.removed:
        listing = "\n" + "\n".join(subscription_line(s) for s in outcome.found) if outcome.found else ""
        await message.answer(Html(l10n(outcome.reason) + listing))
        await history.record("unsubscribe", command.args or "", status="rejected", result={"reason": outcome.reason})
        return
    await message.answer(l10n("unsubscribe-done", count=len(outcome.removed)))
    await history.record("unsubscribe", command.args or "", result={"removed": outcome.removed})


async def digest_preview(message: Message, command: CommandObject, session: AsyncSession, l10n: Translator,
                         history: HistoryRecorder, digests: DigestService) -> None:
    argument = (command.args or "").strip().lstrip("#")
    history.begin("digest", argument)
    preview = await DigestChatService(session).preview(message.chat.id, argument, digests)
    await answer_long(message, Html(l10n("digest-preview") + "\n\n" + (preview.text or l10n("digest-preview-silent"))),
                      disable_web_page_preview=True)
    await history.record("digest", argument, result={"subscription": preview.subscription_id,
                                                     "chars": len(preview.text)})


async def sources(message: Message, session: AsyncSession, settings: Settings, l10n: Translator) -> None:
    rows = await DigestChatService(session).sources()
    if not rows:
        await message.answer(l10n("sources-none"))
        return
    lines = [l10n("sources-title")] + [source_line(src, l10n) for src in rows]
    votes = await DigestChatService(session).top_voted()  # readers' 👍/👎 under delivered digests
    if votes:
        lines += ["", l10n("sources-votes")]
        lines += [f"• {isolate(escape(title[:120]))}: 👍 {up} · 👎 {down}" for title, up, down in votes]
    explained = await ProfileService(session).explain(message.chat.id)  # what moved this chat's papers up
    if explained:
        lines += ["", l10n("why-title")] + explained_lines(explained, l10n)
    await answer_long(message, Html("\n".join(lines)), disable_web_page_preview=True)


async def submit(message: Message, command: CommandObject, session: AsyncSession, l10n: Translator,
                 history: HistoryRecorder) -> None:
    text, _ = command_input(command.args, message)  # a reply submits the replied message
    history.begin("submit", text[:200])
    user = message.from_user
    outcome = await DigestChatService(session).submit(text, chat_id=user.id if user else message.chat.id,
                                                      message_id=message.message_id)
    if not outcome.new:
        reply = l10n("submit-duplicate")
    elif outcome.paper is None:
        reply = l10n("submit-stored-text")
    else:
        reply = l10n("submit-stored", paper=outcome.paper.split(":", 1)[1])
    await message.answer(reply)
    await history.record("submit", text[:200], result={"paper": outcome.paper, "new": outcome.new})


async def channel_post(message: Message, session: AsyncSession) -> None:
    """Posts of channels the bot is in become digest items (their arXiv ids, links and text); nothing is sent."""
    await DigestChatService(session).channel_post(
        chat_id=message.chat.id, message_id=message.message_id, text=message.text or message.caption or "",
        title=message.chat.title or str(message.chat.id), published_at=message.date)


def create_router() -> Router:
    router = feature_router("digest")
    for observer in (router.message, router.channel_post):
        observer.register(subscribe, Command("subscribe"))
        observer.register(subscriptions, Command("subscriptions"))
        observer.register(unsubscribe, Command("unsubscribe"))
    router.message.register(digest_preview, Command("digest"), flags={"expensive": True})
    router.channel_post.register(digest_preview, Command("digest"))
    router.message.register(sources, Command("sources"))
    router.message.register(submit, Command("submit"))
    router.channel_post.register(channel_post, F.text | F.caption)
    return router
