"""/history [n], /export, /forget: what the bot stores about a user, shown, exported and deleted on request.

Private data stays private: in a group /history lists only what the user ran in that group, and /export goes to
the user's private chat (a note in the group; a deep link to start the private chat when the bot may not write to
them yet). The export and the deletion cover every table (services/privacy.py)."""
import json
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message, Update
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.errors import UserInputError
from chatkit.parsing import Count, Flag, TelegramId, parse_int
from chatkit.render import escape, isolate
from handlers.commands import CommandSpec
from handlers.context import UserCache
from handlers.i18n import Html, Translator
from handlers.sending import Replier, ReplyTarget, edit_or_send
from services.history import HistoryRecorder, count_history, history_page as read_history_page
from services.privacy import JournalEraser, export_user, forget_user, scrub_files_after_commit
from services.subscriptions import Resync
from storage.schema.core import HistoryEntry, User

commands = [
    CommandSpec("history", "cmd-history"),
    CommandSpec("export", "cmd-export"),
    CommandSpec("forget", "cmd-forget"),
]
DEFAULT_PAGE, MAX_PAGE = 10, 50


class HistoryPage(CallbackData, prefix="hist"):
    owner: TelegramId  # only the user whose history it is may turn its pages (it may be shown in a group)
    offset: Count
    size: Count
    chat: TelegramId = 0  # 0: every chat (a private chat); else only this group's rows


class ForgetChoice(CallbackData, prefix="forget"):
    owner: TelegramId
    confirm: Flag  # "1"/"0" exactly: `forget:<id>:yes` is no confirmation


def _line(entry: HistoryEntry, l10n: Translator) -> str:
    when = entry.created_at.strftime("%Y-%m-%d %H:%M")
    args = entry.arguments if len(entry.arguments) <= 60 else entry.arguments[:59] + "…"
    parts = [f"<code>{when}</code>", f"/{escape(entry.command)}"]
    if args:
        parts.append(isolate(escape(args)))
    parts.append(l10n(f"status-{entry.status}"))
    if entry.latency_ms is not None and entry.status == "ok" and entry.model:
        parts.append(f"· {escape(entry.model)} · {entry.latency_ms} ms")
    return " ".join(parts)


async def render_page(session: AsyncSession, l10n: Translator, user_id: int, offset: int, size: int,
                      chat_id: int | None = None) -> tuple[str, InlineKeyboardMarkup | None]:
    page = await read_history_page(session, user_id, chat_id, offset=offset, size=size)
    total, offset, entries = page.total, page.offset, page.entries
    if total == 0:
        return l10n("history-empty"), None
    header = "history-header" if chat_id is None else "history-header-chat"
    lines = [l10n(header, **{"from": offset + 1, "to": offset + len(entries), "total": total})]
    lines += [_line(entry, l10n) for entry in entries]
    builder = InlineKeyboardBuilder()
    chat = chat_id or 0
    if offset > 0:
        builder.button(text=l10n("btn-prev"),
                       callback_data=HistoryPage(owner=user_id, offset=offset - size, size=size, chat=chat))
    if offset + size < total:
        builder.button(text=l10n("btn-next"),
                       callback_data=HistoryPage(owner=user_id, offset=offset + size, size=size, chat=chat))
    markup: InlineKeyboardMarkup | None = builder.as_markup() if list(builder.buttons) else None
    return Html("\n".join(lines)), markup


def scope_of(message: Message) -> int | None:
    """In a group only the group's own rows are shown: what a member ran in private stays private."""
    return None if message.chat.type == "private" else message.chat.id


async def history_command(message: Message, command: CommandObject, session: AsyncSession, l10n: Translator,
                          db_user: User | None, history: HistoryRecorder) -> None:
    if db_user is None:  # a channel post: nobody to show history to
        return
    size = DEFAULT_PAGE
    if command.args:
        try:
            size = parse_int(command.args, minimum=1, maximum=MAX_PAGE)  # ASCII digits, length-capped
        except UserInputError:
            size = 0
        if not 1 <= size <= MAX_PAGE:
            await message.answer(l10n("history-bad-number", max=MAX_PAGE))
            await history.record("history", command.args, status="rejected")
            return
    text, markup = await render_page(session, l10n, db_user.id, 0, size, scope_of(message))
    await message.answer(text, reply_markup=markup)
    await history.record("history", command.args or "")


async def history_page(query: CallbackQuery, callback_data: HistoryPage, session: AsyncSession,
                       l10n: Translator) -> None:
    if callback_data.owner != query.from_user.id:
        await query.answer(l10n("not-your-button"), show_alert=True)
        return
    # The rows shown follow the chat the button is pressed in, never the button's own claim: chat=0 ("every chat")
    # only in a private chat, a group's id only in that group (a forged `hist:<id>:0:5:0` in a group shows nothing).
    chat = query.message.chat if query.message is not None else None  # None: an inline message, in no known chat
    pressed_in = None if chat is None or chat.type == "private" else chat.id
    if chat is None or (callback_data.chat or None) != pressed_in:
        await query.answer(l10n("input-stale-button"), show_alert=True)
        return
    size = min(max(callback_data.size, 1), MAX_PAGE)
    text, markup = await render_page(session, l10n, query.from_user.id, max(callback_data.offset, 0), size,
                                     pressed_in)
    await edit_or_send(query, text, reply_markup=markup)
    await query.answer()


def export_file(document: dict[str, Any], user_id: int) -> BufferedInputFile:
    payload = json.dumps(document, ensure_ascii=False, indent=2).encode()
    return BufferedInputFile(payload, filename=f"paperbot-data-{user_id}.json")


async def send_export(bot: Bot, session: AsyncSession, l10n: Translator, user_id: int,
                      target: ReplyTarget) -> int | None:
    """Sends the export to `target`; None when there is nothing to export, else the number of history rows."""
    document = await export_user(session, user_id)
    if document is None:  # no row at all (the profile alone is data, and is exported)
        return None
    count = len(document["history"])
    await Replier(bot, target).document(export_file(document, user_id),
                                        caption=l10n("export-caption-all", count=count))
    return count


async def export(message: Message, bot: Bot, session: AsyncSession, l10n: Translator, db_user: User | None,
                 history: HistoryRecorder) -> None:
    if db_user is None:
        return
    if message.chat.type == "private":
        count = await send_export(bot, session, l10n, db_user.id, ReplyTarget.of(message))
    else:
        # Never into the group: the file goes to the user's private chat, the group gets a note.
        try:
            count = await send_export(bot, session, l10n, db_user.id,
                                      ReplyTarget(chat_id=db_user.id, user_id=db_user.id))
        except (TelegramForbiddenError, TelegramBadRequest):  # the user never started the private chat
            builder = InlineKeyboardBuilder()
            builder.button(text=l10n("btn-open-private"), url=await create_start_link(bot, "export"))
            await message.answer(l10n("export-start-private"), reply_markup=builder.as_markup())
            await history.record("export", status="rejected", result={"reason": "no private chat"})
            return
        if count is not None:
            await message.answer(l10n("export-sent-private"))
    if count is None:
        await message.answer(l10n("export-empty"))
        await history.record("export", status="rejected", result={"reason": "empty"})
        return
    await history.record("export", result={"entries": count})


async def forget(message: Message, session: AsyncSession, l10n: Translator, db_user: User | None) -> None:
    if db_user is None:
        return
    builder = InlineKeyboardBuilder()
    builder.button(text=l10n("btn-forget-yes"), callback_data=ForgetChoice(owner=db_user.id, confirm=True))
    builder.button(text=l10n("btn-cancel"), callback_data=ForgetChoice(owner=db_user.id, confirm=False))
    count = await count_history(session, db_user.id, None)
    await message.answer(l10n("forget-confirm-all", count=count), reply_markup=builder.as_markup())


async def forget_choice(query: CallbackQuery, callback_data: ForgetChoice, session: AsyncSession,
                        l10n: Translator, context: UserCache, event_update: Update,
                        digest_scheduler: Resync | None = None, call_journal: JournalEraser | None = None) -> None:
    if callback_data.owner != query.from_user.id:
        await query.answer(l10n("not-your-button"), show_alert=True)
        return
    if callback_data.confirm:
        report = await forget_user(session, query.from_user.id)
        context.forget(query.from_user.id)
        text = l10n("forget-done", count=report.history)
        if digest_scheduler is not None and report.private_subscriptions:
            # The scheduler's job store holds a job per subscription: drop the removed ones now, not in a minute.
            await session.commit()
            await digest_scheduler.sync_subscriptions()
        # At the update's last commit (after the journal's erase below): the deleted rows' old pages leave the WAL.
        scrub_files_after_commit(session, call_journal)
    else:
        text = l10n("forget-cancelled")
    await edit_or_send(query, text)
    await query.answer()
    if callback_data.confirm and call_journal is not None:
        # After this update's last Bot API call: the journal's entries of the user's updates (this one's answers
        # too, which name the user's chat). A crash between here and the commit reruns /forget without them: the
        # edit is sent again (same text), nothing else.
        await call_journal.erase_user(query.from_user.id, report.update_ids, event_update.update_id)


def create_router() -> Router:
    router = Router(name="history")
    router.message.register(history_command, Command("history"))
    router.callback_query.register(history_page, HistoryPage.filter())
    router.message.register(export, Command("export"))
    router.message.register(forget, Command("forget"))
    router.callback_query.register(forget_choice, ForgetChoice.filter())
    return router
