"""/paper <arXiv id, URL or title words>: one paper's card (services/paper.py), with 👍 (the chat's reading list and
profile, services/profile.py) and, for a paper the bot can demo, a button that runs the demo inline. When arXiv
cannot be reached the reply says so and a job looks the paper up again with growing waits, then edits the reply.
`/paper cards on|off` (a group's admins): a bare arXiv link a person posts in the group gets the card."""
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatkit.chats import GROUP_TYPES
from chatkit.errors import UserInputError
from chatkit.render import escape, isolate
from digests.compose import QUOTES, provenance_line
from digests.paper_lookup import PaperQuery, Unreachable, find_paper, linked_arxiv_id
from digests.service import DigestService
from digests.summary import LANGUAGE_NAMES
from handlers.commands import CommandSpec, Permission, command_input
from handlers.failures import feature_router
from handlers.filters import admin_cache, permits
from handlers.i18n import Html, Translator
from handlers.jobs import JobRegistry
from handlers.settings import Settings
from services.history import HistoryRecorder
from services.paper import PaperCard, PaperService, retry_lookup
from services.profile import ProfileService
from storage.schema.core import User

commands = [CommandSpec("paper", "cmd-paper", usage_key="paper-usage")]
POSTS_PER_LANGUAGE = 3


class PaperButton(CallbackData, prefix="pc"):
    action: str  # like (reading list) | up | down (the digest vote)
    paper: str  # arXiv id


def service(session: AsyncSession, digests: DigestService | None) -> PaperService:
    summarizer = digests.summarizer if digests is not None else None
    return PaperService(session, digests.arxiv if digests is not None else None, summarizer)


def render(card: PaperCard, l10n: Translator) -> str:
    """HTML; every title, post and summary escaped and bidi-isolated."""
    title = isolate(escape(card.title))
    heading = f'<a href="{escape(card.url)}">{title}</a>' if card.url else title
    lines = [f"📄 <b>{heading}</b>"]
    if card.authors:
        lines.append(isolate(escape(card.authors)))
    if card.arxiv_id:
        lines.append(f"<code>arXiv:{escape(card.arxiv_id)}</code>")
    summary = isolate(escape(card.summary))
    if card.quoted is not None:
        opening, closing = QUOTES.get(l10n.lang, QUOTES["en"])
        summary = f"<i>{opening}{summary}{closing}</i> — {isolate(escape(card.quoted.source_name))}"
    elif card.summary_language != l10n.lang and card.summary_language in LANGUAGE_NAMES:
        summary = l10n("digest-original-language", language=card.summary_language) + " " + summary
    lines += ["", summary]
    if card.provenance is not None and card.provenance.fallback:
        lines.append(provenance_line(card.provenance, l10n))
    if card.posts:
        lines += ["", l10n("paper-posts", count=sum(len(p) for p in card.posts.values()))]
        for language, posts in card.posts.items():
            shown = []
            for post in posts[:POSTS_PER_LANGUAGE]:
                name = isolate(escape(post.source_name))
                shown.append(f'<a href="{escape(post.url)}">{name}</a>' if post.url else name)
            lines.append(f"• <b>{escape(language)}</b>: " + " · ".join(shown))
    else:
        lines += ["", l10n("paper-no-posts")]
    return Html("\n".join(lines))


def keyboard(card: PaperCard, l10n: Translator) -> InlineKeyboardMarkup | None:
    row: list[InlineKeyboardButton] = []
    if card.arxiv_id:
        row += [InlineKeyboardButton(text="👍", callback_data=PaperButton(action="up", paper=card.arxiv_id).pack()),
                InlineKeyboardButton(text="👎", callback_data=PaperButton(action="down", paper=card.arxiv_id).pack()),
                InlineKeyboardButton(text=l10n("paper-button-like"),
                                     callback_data=PaperButton(action="like", paper=card.arxiv_id).pack())]
    rows = [row] if row else []
    if card.demo is not None:
        command, argument = card.demo
        # The demo runs through inline mode in this chat: `@bot leak …` gives the cached result or a deep link.
        query = f"leak {argument}" if command == "leak" else argument
        rows.append([InlineKeyboardButton(text=l10n("paper-button-demo", command=command),
                                          switch_inline_query_current_chat=query)])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


async def paper(message: Message, command: CommandObject, bot: Bot, session: AsyncSession, l10n: Translator,
                history: HistoryRecorder, jobs: JobRegistry, sessionmaker: async_sessionmaker[AsyncSession],
                settings: Settings, digests: DigestService | None = None, **data: Any) -> None:
    typed, _ = command_input(command.args, message)
    history.begin("paper", typed)
    papers = service(session, digests)
    if typed.split()[:1] == ["cards"]:
        await _switch_cards(message, typed.removeprefix("cards"), papers, bot, settings, l10n, history, data)
        return
    query = papers.query(typed)
    try:
        card = await papers.card(query, l10n.lang)
    except Unreachable:
        status = await message.answer(l10n("paper-unreachable", query=query.text))
        jobs.spawn(_retry(bot, sessionmaker, digests, query, l10n, message.chat.id, status.message_id),
                   name="paper-retry", bot=bot, sessionmaker=sessionmaker, chat_id=message.chat.id,
                   user_id=message.from_user.id if message.from_user else None, command="paper",
                   arguments=query.text, cancelled_text=l10n("job-cancelled"))
        await history.record("paper", query.text, status="error", result={"reason": "arxiv unreachable"})
        return
    await message.answer(render(card, l10n), reply_markup=keyboard(card, l10n))
    await history.record("paper", query.text, result={"paper": card.paper_id, "summary": card.provenance.kind
                                                      if card.provenance else None})


async def _switch_cards(message: Message, switch: str, papers: PaperService, bot: Bot, settings: Settings,
                        l10n: Translator, history: HistoryRecorder, data: dict[str, Any]) -> None:
    """`/paper cards on|off`: link cards in this group; its admins only (the CHAT_ADMIN rule of handlers/filters)."""
    if message.chat.type not in GROUP_TYPES:
        raise UserInputError("paper-cards-groups", "not a group")
    if not await permits(Permission.CHAT_ADMIN, message, bot, settings, admin_cache(data)):
        await message.answer(l10n("paper-cards-admins"))
        await history.record("paper", f"cards {switch.strip()}", status="rejected",
                             result={"reason": "not allowed", "rule": "chat_admin"})
        return
    on = await papers.set_link_cards(message.chat.id, switch)
    await message.answer(l10n("paper-cards-on" if on else "paper-cards-off"))
    await history.record("paper", f"cards {'on' if on else 'off'}", result={"link_cards": on})


def _link_of(message: Message) -> str | None:
    """The arXiv id a group message links, when it is a person's message (not the bot's, not sent via a bot)."""
    if message.chat.type not in GROUP_TYPES or message.from_user is None or message.from_user.is_bot:
        return None
    if message.via_bot is not None or not message.text or message.text.startswith("/"):
        return None
    return linked_arxiv_id(message.text)


async def link_card(message: Message, session: AsyncSession, l10n: Translator, history: HistoryRecorder,
                    digests: DigestService | None = None) -> None:
    """A bare arXiv link in a group: one card, where the admins turned link cards on; otherwise not ours."""
    arxiv_id = _link_of(message)
    papers = service(session, digests)
    if arxiv_id is None or not await papers.link_cards(message.chat.id):
        raise SkipHandler  # the message goes on to the other routers (the chatter fallback)
    try:
        card = await papers.card(PaperQuery(arxiv_id), l10n.lang)
    except (Unreachable, UserInputError):
        return  # an unprompted card: nothing to say when there is no paper to show
    await message.reply(render(card, l10n), reply_markup=keyboard(card, l10n))
    await history.record("paper-link", arxiv_id, result={"paper": card.paper_id})


async def _retry(bot: Bot, sessionmaker: async_sessionmaker[AsyncSession], digests: DigestService | None,
                 query: PaperQuery, l10n: Translator, chat_id: int, message_id: int) -> None:
    """After the update: look again with growing waits; the "unreachable" reply becomes the card (or "unknown")."""
    async def attempt() -> bool:
        async with sessionmaker() as session:  # not .begin(): the lookup commits around the arXiv call (released)
            papers = service(session, digests)
            found = await find_paper(session, query, papers.lookup)
            await session.commit()
            if found is None:
                await bot.edit_message_text(l10n("paper-not-found", query=query.text), chat_id=chat_id,
                                            message_id=message_id)
                return True
            card = await papers.render_card(found, l10n.lang)
        await bot.edit_message_text(render(card, l10n), chat_id=chat_id, message_id=message_id,
                                    reply_markup=keyboard(card, l10n))
        return True

    if not await retry_lookup(query, attempt):
        await bot.edit_message_text(l10n("paper-gave-up", query=query.text), chat_id=chat_id, message_id=message_id)


async def like(query: CallbackQuery, callback_data: PaperButton, session: AsyncSession, l10n: Translator,
               history: HistoryRecorder, db_user: User | None, digests: DigestService | None = None) -> None:
    if query.message is None:
        await query.answer(l10n("stale-button"))
        return
    if callback_data.action in ("up", "down"):
        await _vote(query, callback_data, session, l10n, history, db_user)
        return
    profile = ProfileService(session, digests.arxiv if digests is not None else None)
    try:
        liked = await profile.like(query.message.chat.id, callback_data.paper)
    except UserInputError:
        await query.answer(l10n("stale-button"))
        return
    await query.answer(l10n("paper-liked" if liked.new else "paper-liked-already"))
    await history.record("paper-like", callback_data.paper, result={"new": liked.new})


async def _vote(query: CallbackQuery, callback_data: PaperButton, session: AsyncSession, l10n: Translator,
                history: HistoryRecorder, db_user: User | None) -> None:
    """👍/👎: the digest vote on this paper (services/paper.py); a paper no digest of this chat carried gets the
    reading-list button's hint instead (there is no issue to vote in)."""
    if db_user is None or query.message is None:
        await query.answer(l10n("stale-button"))
        return
    value = 1 if callback_data.action == "up" else -1
    tally = await service(session, None).vote(query.message.chat.id, db_user.id, callback_data.paper, value)
    if tally is None:
        await query.answer(l10n("paper-vote-no-issue"), show_alert=True)
        return
    await query.answer(l10n("paper-voted", up=tally[0], down=tally[1]))
    await history.record("paper-vote", callback_data.paper, result={"value": value})


def create_router() -> Router:
    router = feature_router("paper")
    router.message.register(paper, Command("paper"))
    router.callback_query.register(like, PaperButton.filter())
    router.message.register(link_card, F.text.func(lambda text: linked_arxiv_id(text) is not None))
    return router
