"""Paper digests in the chat: /subscribe, /subscriptions, /unsubscribe, /digest (preview), /sources (admins),
/submit, and ingestion of posts in channels where the bot is a member (digests/ does the work)."""
import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import EVERYWHERE, CommandSpec
from bot.config import Settings
from bot.i18n import Html, Translator
from bot.render import escape, isolate
from bot.sending import answer_long
from digests.identity import arxiv_ids, paper_key
from digests.sources import ingest_post
from digests.subscription import SubscribeError, describe, parse_subscribe
from storage.repo.digest import chat_subscriptions
from storage.schema.digest import DigestSource, Subscription

log = logging.getLogger(__name__)
router = Router(name="digest")
commands = [
    CommandSpec("subscribe", "cmd-subscribe", usage_key="subscribe-usage", chat_types=EVERYWHERE),
    CommandSpec("subscriptions", "cmd-subscriptions"),
    CommandSpec("unsubscribe", "cmd-unsubscribe"),
    CommandSpec("digest", "cmd-digest", expensive=True),
    CommandSpec("submit", "cmd-submit", usage_key="submit-usage"),
    CommandSpec("sources", "cmd-sources", admin_only=True),
]
MAX_SUBSCRIPTIONS = 5
MAX_SUBMIT_CHARS = 4000


async def may_manage(message: Message, bot: Bot, settings: Settings) -> bool:
    """Private chats: the user. Groups: chat admins (and bot admins). Channels: whoever can post there is an admin."""
    if message.chat.type in ("private", "channel"):
        return True
    user = message.from_user
    if user is None:  # anonymous group admin posting as the group
        return message.sender_chat is not None and message.sender_chat.id == message.chat.id
    if settings.is_admin(user.id):
        return True
    member = await bot.get_chat_member(message.chat.id, user.id)
    return member.status in ("creator", "administrator")


async def allowed_to_manage(message: Message, command: CommandObject, bot: Bot, settings: Settings, l10n: Translator,
                            history) -> bool:
    """False (after saying why and recording the rejection) when the sender may not change subscriptions."""
    if await may_manage(message, bot, settings):
        return True
    await message.answer(l10n("digest-admins-only"))
    await history.record(command.command, command.args or "", status="rejected", result={"reason": "not admin"})
    return False


async def resync(session: AsyncSession, digest_scheduler) -> None:
    """In the process that runs the scheduler, a subscription change takes effect now, not at the next minute's sync."""
    if digest_scheduler is not None:
        await session.commit()  # the scheduler reads it through its own session
        await digest_scheduler.sync_subscriptions()


def subscription_line(subscription: Subscription) -> str:
    topics = ", ".join(subscription.topics or [])
    return (f"<b>#{subscription.id}</b> {isolate(escape(topics))} · {subscription.language} · "
            f"{escape(describe(subscription))} · {subscription.size} · {subscription.empty_policy}")


@router.message(Command("subscribe"))
@router.channel_post(Command("subscribe"))
async def subscribe(message: Message, command: CommandObject, bot: Bot, settings: Settings, session: AsyncSession,
                    l10n: Translator, history, digest_scheduler=None) -> None:
    if not await allowed_to_manage(message, command, bot, settings, l10n, history):
        return
    try:
        spec = parse_subscribe(command.args, l10n.lang)
    except SubscribeError as error:
        await message.answer(Html(l10n(f"subscribe-err-{error.code}", detail=error.detail) + "\n" +
                                  l10n("subscribe-usage")))
        await history.record("subscribe", command.args or "", status="rejected", result={"reason": error.code})
        return
    existing = await chat_subscriptions(session, message.chat.id)
    if len(existing) >= MAX_SUBSCRIPTIONS:
        await message.answer(l10n("subscribe-err-too-many", limit=MAX_SUBSCRIPTIONS))
        await history.record("subscribe", command.args or "", status="rejected", result={"reason": "too many"})
        return
    subscription = Subscription(chat_id=message.chat.id, topics=spec.topics, language=spec.language,
                                schedule=spec.schedule, time=spec.time, weekday=spec.weekday, timezone=spec.timezone,
                                size=spec.size, empty_policy=spec.empty_policy,
                                created_by=message.from_user.id if message.from_user else None)
    session.add(subscription)
    await session.flush()
    await message.answer(Html(l10n("subscribe-done") + "\n" + subscription_line(subscription)))
    await history.record("subscribe", command.args or "", result={"subscription": subscription.id})
    await resync(session, digest_scheduler)


@router.message(Command("subscriptions"))
@router.channel_post(Command("subscriptions"))
async def subscriptions(message: Message, session: AsyncSession, l10n: Translator) -> None:
    found = await chat_subscriptions(session, message.chat.id)
    if not found:
        await message.answer(Html(l10n("subscriptions-none") + "\n" + l10n("subscribe-usage")))
        return
    await answer_long(message, Html("\n".join([l10n("subscriptions-title")] + [subscription_line(s) for s in found])))


@router.message(Command("unsubscribe"))
@router.channel_post(Command("unsubscribe"))
async def unsubscribe(message: Message, command: CommandObject, bot: Bot, settings: Settings, session: AsyncSession,
                      l10n: Translator, history, digest_scheduler=None) -> None:
    if not await allowed_to_manage(message, command, bot, settings, l10n, history):
        return
    found = await chat_subscriptions(session, message.chat.id)
    argument = (command.args or "").strip().lstrip("#").lower()
    if argument == "all":
        chosen = found
    elif argument.isdigit():
        chosen = [s for s in found if s.id == int(argument)]
    elif not argument and len(found) == 1:
        chosen = found
    else:
        chosen = []
    if not chosen:
        key = "unsubscribe-none" if not found else "unsubscribe-which"
        await message.answer(Html(l10n(key) + ("\n" + "\n".join(subscription_line(s) for s in found) if found else "")))
        await history.record("unsubscribe", command.args or "", status="rejected", result={"reason": key})
        return
    for subscription in chosen:
        subscription.active = False
    await message.answer(l10n("unsubscribe-done", count=len(chosen)))
    await history.record("unsubscribe", command.args or "", result={"removed": [s.id for s in chosen]})
    await resync(session, digest_scheduler)


@router.message(Command("digest"), flags={"expensive": True})
@router.channel_post(Command("digest"))
async def digest_preview(message: Message, command: CommandObject, session: AsyncSession, l10n: Translator,
                         history, digests) -> None:
    found = await chat_subscriptions(session, message.chat.id)
    argument = (command.args or "").strip().lstrip("#")
    chosen = next((s for s in found if argument.isdigit() and s.id == int(argument)), found[0] if found else None)
    if chosen is None:
        await message.answer(Html(l10n("subscriptions-none") + "\n" + l10n("subscribe-usage")))
        await history.record("digest", argument, status="rejected", result={"reason": "no subscription"})
        return
    text = await digests.preview(chosen.id)
    await answer_long(message, Html(l10n("digest-preview") + "\n\n" + (text or l10n("digest-preview-silent"))),
                      disable_web_page_preview=True)
    await history.record("digest", argument, result={"subscription": chosen.id, "chars": len(text)})


@router.message(Command("sources"))
async def sources(message: Message, session: AsyncSession, settings: Settings, l10n: Translator) -> None:
    if not settings.is_admin(message.from_user.id if message.from_user else None):
        await message.answer(l10n("admin-only"))
        return
    rows = (await session.scalars(select(DigestSource).order_by(DigestSource.kind, DigestSource.id))).all()
    if not rows:
        await message.answer(l10n("sources-none"))
        return
    lines = [l10n("sources-title")]
    for src in rows:
        health = "✅" if src.failures == 0 and src.last_ok_at else ("⚠️" if src.failures else "⏳")
        line = (f"{health} <b>{isolate(escape(src.name))}</b> · {src.kind} · "
                + l10n("sources-items", count=src.items_total)
                + (" · " + l10n("sources-last-ok", when=src.last_ok_at.strftime("%Y-%m-%d %H:%M"))
                   if src.last_ok_at else ""))
        if src.failures:
            line += "\n   " + l10n("sources-failing", count=src.failures, error=(src.last_error or "")[:200])
        lines.append(line)
    await answer_long(message, Html("\n".join(lines)), disable_web_page_preview=True)


@router.message(Command("submit"))
async def submit(message: Message, command: CommandObject, session: AsyncSession, l10n: Translator,
                 history) -> None:
    text = (command.args or "").strip()
    if not text:
        await message.answer(l10n("submit-usage"))
        await history.record("submit", status="rejected", result={"reason": "empty"})
        return
    if len(text) > MAX_SUBMIT_CHARS:
        await message.answer(l10n("submit-too-long", limit=MAX_SUBMIT_CHARS))
        await history.record("submit", text[:200], status="rejected", result={"reason": "too long"})
        return
    user = message.from_user
    new = await ingest_post(session, chat_id=user.id if user else message.chat.id, message_id=message.message_id,
                            text=text, title="/submit", kind="submit")
    key = paper_key(text)
    if key is None:
        reply = l10n("submit-stored-text")
    else:
        reply = l10n("submit-stored", paper=key.split(":", 1)[1])
    await message.answer(reply if new else l10n("submit-duplicate"))
    await history.record("submit", text[:200], result={"paper": key, "new": bool(new)})


@router.channel_post(F.text | F.caption)
async def channel_post(message: Message, session: AsyncSession) -> None:
    """Posts of channels the bot is in become digest items (their arXiv ids, links and text); nothing is sent."""
    text = message.text or message.caption or ""
    if text.startswith("/"):
        return
    if not arxiv_ids(text) and "http" not in text and len(text) < 200:
        return  # chatter, not a paper post
    await ingest_post(session, chat_id=message.chat.id, message_id=message.message_id, text=text,
                      title=message.chat.title or str(message.chat.id),
                      published_at=message.date, kind="channel")
