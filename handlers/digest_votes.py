"""The buttons under a delivered digest (digests/buttons.py): 👍/👎 per paper, stored per reader and shown in /sources;
"unsubscribe", which in a group only its admins may press (the same rule as /unsubscribe)."""
from typing import Any

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from digests.buttons import DigestUnsubscribeButton, DigestVoteButton
from handlers.commands import CommandSpec, Permission
from handlers.filters import admin_cache, permits
from handlers.i18n import Translator
from handlers.settings import Settings
from services.digest import DigestChatService
from services.history import HistoryRecorder
from services.subscriptions import Resync, SubscriptionService
from storage.schema.core import User

commands: list[CommandSpec] = []


async def vote(query: CallbackQuery, callback_data: DigestVoteButton, session: AsyncSession, l10n: Translator,
               db_user: User | None) -> None:
    if db_user is None or callback_data.value not in (1, -1):
        await query.answer(l10n("stale-button"))
        return
    chat_id = query.message.chat.id if query.message is not None else None
    tally = await DigestChatService(session).vote(issue_id=callback_data.issue_id, position=callback_data.paper,
                                                  user_id=db_user.id, chat_id=chat_id, value=callback_data.value)
    if tally is None:  # the issue is gone (its subscription was removed)
        await query.answer(l10n("stale-button"))
        return
    await query.answer(l10n("digest-vote-thanks", paper=callback_data.paper, up=tally[0], down=tally[1]))


async def unsubscribe(query: CallbackQuery, callback_data: DigestUnsubscribeButton, bot: Bot, settings: Settings,
                      session: AsyncSession, l10n: Translator, history: HistoryRecorder,
                      digest_scheduler: Resync | None = None, **data: Any) -> None:
    if query.message is None:
        await query.answer(l10n("stale-button"))
        return
    if not await permits(Permission.CHAT_ADMIN, query, bot, settings, admin_cache(data)):
        await query.answer(l10n("digest-unsubscribe-admins"), show_alert=True)
        await history.record("unsubscribe", str(callback_data.subscription_id), status="rejected",
                             result={"reason": "not allowed", "rule": "chat_admin"})
        return
    outcome = await SubscriptionService(session, digest_scheduler).unsubscribe(
        query.message.chat.id, str(callback_data.subscription_id))
    if not outcome.removed:
        await query.answer(l10n("stale-button"))
        return
    await query.answer(l10n("digest-unsubscribed"), show_alert=True)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
    await history.record("unsubscribe", str(callback_data.subscription_id), result={"removed": outcome.removed})


def create_router() -> Router:
    router = Router(name="digest_votes")
    router.callback_query.register(vote, DigestVoteButton.filter())
    router.callback_query.register(unsubscribe, DigestUnsubscribeButton.filter())
    return router
