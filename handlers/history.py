"""/history [n], /export, /forget: what the bot stores about a user, shown, exported and deleted on request."""
import json

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import CommandSpec
from bot.sending import edit_or_send
from bot.i18n import Html, Translator
from bot.render import escape, isolate
from storage.repo.core import count_user_history, forget_user, user_history

router = Router(name="history")
commands = [
    CommandSpec("history", "cmd-history"),
    CommandSpec("export", "cmd-export"),
    CommandSpec("forget", "cmd-forget"),
]
DEFAULT_PAGE, MAX_PAGE = 10, 50


class HistoryPage(CallbackData, prefix="hist"):
    owner: int  # only the user whose history it is may turn its pages (it may be shown in a group)
    offset: int
    size: int


class ForgetChoice(CallbackData, prefix="forget"):
    owner: int
    confirm: bool


def _line(entry, l10n: Translator) -> str:
    when = entry.created_at.strftime("%Y-%m-%d %H:%M")
    args = entry.arguments if len(entry.arguments) <= 60 else entry.arguments[:59] + "…"
    parts = [f"<code>{when}</code>", f"/{escape(entry.command)}"]
    if args:
        parts.append(isolate(escape(args)))
    parts.append(l10n(f"status-{entry.status}"))
    if entry.latency_ms is not None and entry.status == "ok" and entry.model:
        parts.append(f"· {escape(entry.model)} · {entry.latency_ms} ms")
    return " ".join(parts)


async def render_page(session: AsyncSession, l10n: Translator, user_id: int, offset: int, size: int):
    total = await count_user_history(session, user_id)
    if total == 0:
        return l10n("history-empty"), None
    offset = max(0, min(offset, (total - 1) // size * size))
    entries = await user_history(session, user_id, offset=offset, limit=size)
    lines = [l10n("history-header", **{"from": offset + 1, "to": offset + len(entries), "total": total})]
    lines += [_line(entry, l10n) for entry in entries]
    builder = InlineKeyboardBuilder()
    if offset > 0:
        builder.button(text=l10n("btn-prev"), callback_data=HistoryPage(owner=user_id, offset=offset - size, size=size))
    if offset + size < total:
        builder.button(text=l10n("btn-next"), callback_data=HistoryPage(owner=user_id, offset=offset + size, size=size))
    markup: InlineKeyboardMarkup | None = builder.as_markup() if list(builder.buttons) else None
    return Html("\n".join(lines)), markup


@router.message(Command("history"))
async def history_command(message: Message, command: CommandObject, session: AsyncSession, l10n: Translator,
                          db_user, history) -> None:
    if db_user is None:  # a channel post: nobody to show history to
        return
    size = DEFAULT_PAGE
    if command.args:
        try:
            size = int(command.args.strip())
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_PAGE:
            await message.answer(l10n("history-bad-number", max=MAX_PAGE))
            await history.record("history", command.args, status="rejected")
            return
    text, markup = await render_page(session, l10n, db_user.id, 0, size)
    await message.answer(text, reply_markup=markup)
    await history.record("history", command.args or "")


@router.callback_query(HistoryPage.filter())
async def history_page(query: CallbackQuery, callback_data: HistoryPage, session: AsyncSession,
                       l10n: Translator) -> None:
    if callback_data.owner != query.from_user.id:
        await query.answer(l10n("not-your-button"), show_alert=True)
        return
    size = min(max(callback_data.size, 1), MAX_PAGE)
    text, markup = await render_page(session, l10n, query.from_user.id, max(callback_data.offset, 0), size)
    await edit_or_send(query, text, reply_markup=markup)
    await query.answer()


def export_document(user, entries) -> dict:
    return {
        "user": {"id": user.id, "first_name": user.first_name, "last_name": user.last_name,
                 "username": user.username, "language": user.language,
                 "created_at": user.created_at.isoformat()},
        "history": [{"id": e.id, "chat_id": e.chat_id, "command": e.command, "arguments": e.arguments,
                     "status": e.status, "result": e.result, "model": e.model, "latency_ms": e.latency_ms,
                     "created_at": e.created_at.isoformat()} for e in entries],
    }


@router.message(Command("export"))
async def export(message: Message, session: AsyncSession, l10n: Translator, db_user, history) -> None:
    if db_user is None:
        return
    entries = list(reversed(await user_history(session, db_user.id)))
    if not entries:
        await message.answer(l10n("export-empty"))
        return
    payload = json.dumps(export_document(db_user, entries), ensure_ascii=False, indent=2).encode()
    document = BufferedInputFile(payload, filename=f"history-{db_user.id}.json")
    await message.answer_document(document, caption=l10n("export-caption", count=len(entries)))
    await history.record("export", result={"entries": len(entries)})


@router.message(Command("forget"))
async def forget(message: Message, session: AsyncSession, l10n: Translator, db_user) -> None:
    if db_user is None:
        return
    builder = InlineKeyboardBuilder()
    builder.button(text=l10n("btn-forget-yes"), callback_data=ForgetChoice(owner=db_user.id, confirm=True))
    builder.button(text=l10n("btn-cancel"), callback_data=ForgetChoice(owner=db_user.id, confirm=False))
    count = await count_user_history(session, db_user.id)
    await message.answer(l10n("forget-confirm", count=count), reply_markup=builder.as_markup())


@router.callback_query(ForgetChoice.filter())
async def forget_choice(query: CallbackQuery, callback_data: ForgetChoice, session: AsyncSession,
                        l10n: Translator, context) -> None:
    if callback_data.owner != query.from_user.id:
        await query.answer(l10n("not-your-button"), show_alert=True)
        return
    if callback_data.confirm:
        count = await forget_user(session, query.from_user.id)
        context.forget(query.from_user.id)
        text = l10n("forget-done", count=count)
    else:
        text = l10n("forget-cancelled")
    await edit_or_send(query, text)
    await query.answer()
