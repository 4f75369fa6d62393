"""A chat's interest profile (services/profile.py): `/like <arXiv id or URL>`, a reading list sent as a file (a .bib
or a plain list of arXiv ids, with the caption /like or in reply to the bot's /like prompt), `/profile` (what the
profile holds), `/why` (what moved each paper of the latest issue up; /sources shows the same for bot admins).
Who may: /like anyone (as the 👍 under a digest, which any reader may press); a reading-list import only a group's
admins (one file can outweigh every vote of the chat)."""
from io import BytesIO
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Document, Message
from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.errors import UserInputError
from digests.readinglist import MAX_BYTES
from digests.service import DigestService
from handlers.commands import CommandSpec, Permission
from handlers.failures import feature_router
from handlers.filters import admin_cache, permits
from handlers.i18n import Html, Translator
from handlers.sending import answer_long
from handlers.settings import Settings
from services.history import HistoryRecorder
from services.profile import Explained, ProfileService

commands = [
    CommandSpec("like", "cmd-like", usage_key="like-usage"),
    CommandSpec("profile", "cmd-profile"),
    CommandSpec("why", "cmd-why"),
]
IMPORT_RULE = Permission.CHAT_ADMIN  # reading-list files, in groups
WHY_PAPERS = 10
LIST_SHOWN = 10  # ids named per outcome line of an import


def service(session: AsyncSession, digests: DigestService | None) -> ProfileService:
    if digests is None:
        return ProfileService(session)
    return ProfileService(session, digests.arxiv, half_life_days=digests.settings.digest_profile_half_life_days)


async def like(message: Message, command: CommandObject, session: AsyncSession, l10n: Translator,
               history: HistoryRecorder, digests: DigestService | None = None) -> None:
    if not (command.args or "").strip():  # the prompt: a file sent in reply to it is imported
        await message.answer(l10n("like-usage") + "\n" + l10n("reading-list-usage"))
        return
    history.begin("like", command.args or "")
    liked = await service(session, digests).like(message.chat.id, command.args)
    if liked.pending:
        text = l10n("like-pending", id=liked.arxiv_id)
    else:
        text = l10n("like-added" if liked.new else "like-already", id=liked.arxiv_id, title=liked.title or "")
    await message.answer(text, disable_web_page_preview=True)
    await history.record("like", liked.arxiv_id, result={"new": liked.new, "pending": liked.pending})


async def _is_import(message: Message, bot: Bot) -> bool:
    """A document captioned /like, or sent in reply to the bot's /like prompt."""
    caption = (message.caption or "").strip().split(maxsplit=1)
    if caption and caption[0].split("@", 1)[0].lower() == "/like":
        return True
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or "/like" not in (replied.text or ""):
        return False
    return replied.from_user.id == (await bot.me()).id  # getMe is cached by aiogram


async def reading_list(message: Message, bot: Bot, settings: Settings, session: AsyncSession, l10n: Translator,
                       history: HistoryRecorder, digests: DigestService | None = None, **data: Any) -> None:
    document = message.document
    assert document is not None  # the router's filter: F.document and _is_import
    name = document.file_name or "list.txt"
    history.begin("like", f"file:{name}")
    if not await permits(IMPORT_RULE, message, bot, settings, admin_cache(data)):
        await message.answer(l10n("reading-list-admins"))
        await history.record("like", f"file:{name}", status="rejected",
                             result={"reason": "not allowed", "rule": str(IMPORT_RULE)})
        return
    if (document.file_size or 0) > MAX_BYTES:  # refused before downloading it
        raise UserInputError("reading-list-err-too-large", "file too large", then="reading-list-usage")
    content = await _download(bot, document)
    imported = await service(session, digests).import_reading_list(message.chat.id, content, name)
    lines = [l10n("reading-list-done", added=len(imported.added), already=len(imported.already),
                  pending=len(imported.pending), skipped=imported.skipped)]
    if imported.added:
        lines.append(l10n("reading-list-added", ids=_ids(imported.added)))
    if imported.pending:
        lines.append(l10n("reading-list-pending", ids=_ids(imported.pending)))
    if imported.truncated:
        lines.append(l10n("reading-list-truncated", count=len(imported.added) + len(imported.already)))
    await message.answer(Html("\n".join(lines)))
    await history.record("like", f"file:{name}", result={
        "added": len(imported.added), "already": len(imported.already), "pending": len(imported.pending),
        "skipped": imported.skipped, "truncated": imported.truncated})


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:LIST_SHOWN])
    return shown + (f" … (+{len(ids) - LIST_SHOWN})" if len(ids) > LIST_SHOWN else "")


async def _download(bot: Bot, document: Document) -> bytes:
    buffer = BytesIO()
    await bot.download(document, destination=buffer)
    return buffer.getvalue()


async def profile(message: Message, session: AsyncSession, l10n: Translator, history: HistoryRecorder,
                  digests: DigestService | None = None) -> None:
    summary = await service(session, digests).profile_summary(message.chat.id)
    lines = [l10n("profile-title"),
             l10n("profile-counts", likes=summary.likes, dislikes=summary.dislikes, listed=summary.listed,
                  pending=summary.pending),
             l10n("profile-half-life", days=f"{summary.half_life_days:g}")]
    if summary.empty:
        lines.append(l10n("profile-empty"))
    else:
        lines.append(l10n("profile-strongest"))
        for paper in summary.strongest:
            sign = "👍" if paper.weight > 0 else "👎"
            lines.append(l10n("profile-paper", sign=sign, title=paper.title[:120], weight=f"{paper.weight:+.2f}",
                              origin=l10n(f"profile-origin-{paper.origin}")))
    await message.answer(Html("\n".join(lines)), disable_web_page_preview=True)
    await history.record("profile", "", result={"likes": summary.likes, "dislikes": summary.dislikes,
                                                "listed": summary.listed, "pending": summary.pending})


def reason_text(reason: dict[str, Any], l10n: Translator) -> str:
    if reason.get("kind") == "topic":
        return l10n("why-reason-topic", label=str(reason.get("label", "")))
    kind = str(reason.get("kind", ""))
    return l10n("why-reason-similar", kind=l10n(f"why-kind-{kind}") if kind in ("like", "dislike") else kind,
                similarity=f"{float(reason.get('similarity', 0.0)):.2f}", label=str(reason.get("label", "")))


def explained_lines(explained: list[Explained], l10n: Translator) -> list[str]:
    """One line per paper with its reasons ("topic: dpo · like ≈ 0.86 to 'X'"), escaped and isolated by l10n."""
    lines = []
    for item in explained[:WHY_PAPERS]:
        reasons = " · ".join(reason_text(r, l10n) for r in item.paper.reasons) or l10n("why-no-reason")
        lines.append(l10n("why-paper", position=item.paper.position, title=item.paper.title[:120],
                          reasons=Html(reasons)))
    return lines


async def why(message: Message, session: AsyncSession, l10n: Translator, history: HistoryRecorder) -> None:
    explained = await ProfileService(session).explain(message.chat.id)
    if not explained:
        await message.answer(l10n("why-none"))
    else:
        await answer_long(message, Html("\n".join([l10n("why-title")] + explained_lines(explained, l10n))),
                          disable_web_page_preview=True)
    await history.record("why", "", result={"papers": len(explained)})


def create_router() -> Router:
    router = feature_router("profile")
    # First: aiogram's Command filter reads captions too, and a file captioned /like is an import.
    router.message.register(reading_list, F.document, _is_import)
    router.message.register(like, Command("like"))
    router.message.register(profile, Command("profile"))
    router.message.register(why, Command("why"))
    return router
