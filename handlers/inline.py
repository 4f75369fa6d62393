"""Inline mode (`@bot …` in any chat): a paper card for an arXiv id or link (the local store only: an inline answer
must come fast), the /leak result stored for `leak concept | prompt` or else a "run it in a chat with me" deep link
(`/start leak-<payload>` runs the probe there), and for a word the /spell card from the fast trained spellers only
(never an LLM inline). Answers are personal (they use the user's language) and cached briefly."""
import asyncio
import base64
import binascii
import logging
import re
from typing import Any, cast
from uuid import NAMESPACE_URL, uuid5

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.errors import UserInputError
from chatkit.render import escape, isolate
from digests.paper_lookup import parse_query
from handlers import leak as leak_handlers, paper as paper_handlers
from handlers.commands import CommandSpec
from handlers.failures import feature_router
from handlers.i18n import Html, Translator
from handlers.settings import Settings
from models.hub import ModelHub
from models.leakage.userprobe import UserProbeError, UserProbeLimits, parse_user_probe
from services.history import HistoryRecorder
from services.paper import PaperService, cached_leak
from storage.schema.core import User

log = logging.getLogger(__name__)
commands: list[CommandSpec] = []
CACHE_TIME_S = 30  # personal answers: short, so a /leak run just now shows up soon
MAX_QUERY_CHARS = 256  # Telegram's own limit for an inline query
DEEP_LINK_CHARS = 64  # Telegram's limit for a start parameter ([A-Za-z0-9_-])
SPELL_TIMEOUT_S = 5.0  # Telegram drops an inline answer after ~10 s


def leak_payload(arguments: str) -> str | None:
    """`leak-<base64url of "concept | prompt">` when it fits a start parameter, else None."""
    encoded = base64.urlsafe_b64encode(arguments.encode()).decode().rstrip("=")
    payload = f"leak-{encoded}"
    return payload if len(payload) <= DEEP_LINK_CHARS else None


def leak_arguments(payload: str) -> str | None:
    body = payload.removeprefix("leak-")
    if not body or not re.fullmatch(r"[A-Za-z0-9_-]+", body):
        return None
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _article(key: str, title: str, text: str, description: str | None = None) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(id=uuid5(NAMESPACE_URL, key).hex, title=title[:256], description=description,
                                    input_message_content=InputTextMessageContent(message_text=text[:4096],
                                                                                  parse_mode="HTML"))


async def inline(query: InlineQuery, session: AsyncSession, l10n: Translator, settings: Settings,
                 hub: ModelHub | None = None) -> None:
    text = " ".join(query.query.split())[:MAX_QUERY_CHARS]
    results: list[InlineQueryResultArticle] = []
    button: InlineQueryResultsButton | None = None
    if text.lower().startswith("leak ") or text.lower() == "leak":
        results, button = await _leak(text[4:].strip(), session, l10n)
    elif (found := parse_query(text)) is not None and found.arxiv_id is not None:
        results, button = await _paper(found.arxiv_id, session, l10n)
    elif text and len(text.split()) == 1:
        results = await _spell(text, hub, l10n)
    if not results and button is None:
        button = InlineQueryResultsButton(text=l10n("inline-nothing")[:64], start_parameter="inline")
    await query.answer(cast(list[Any], results), cache_time=CACHE_TIME_S, is_personal=True, button=button)


async def _paper(arxiv_id: str, session: AsyncSession, l10n: Translator
                 ) -> tuple[list[InlineQueryResultArticle], InlineQueryResultsButton | None]:
    papers = PaperService(session, None)
    try:
        card = await papers.card(papers.query(arxiv_id), l10n.lang, remote=False)
    except UserInputError:
        return [], InlineQueryResultsButton(text=l10n("inline-paper-unknown")[:64], start_parameter="paper")
    return [_article(f"paper:{arxiv_id}:{l10n.lang}", card.title, paper_handlers.render(card, l10n),
                     l10n("inline-paper-description"))], None


async def _leak(arguments: str, session: AsyncSession, l10n: Translator
                ) -> tuple[list[InlineQueryResultArticle], InlineQueryResultsButton | None]:
    try:
        probe = parse_user_probe(arguments, UserProbeLimits())
    except UserProbeError:
        return [], None
    stored = await cached_leak(session, probe.concept, probe.test)
    if stored is None:
        payload = leak_payload(arguments)
        return [], (InlineQueryResultsButton(text=l10n("inline-leak-run")[:64], start_parameter=payload)
                    if payload else None)
    rate = l10n("leak-rate", rate=f"{stored.leak_rate:.1f}", low=f"{stored.ci_low:.1f}", high=f"{stored.ci_high:.1f}",
                pairs=stored.n, p=f"{stored.p_value:.3g}")
    text = Html(f"<b>/leak</b> {isolate(escape(probe.concept))} | {isolate(escape(probe.test))}\n"
                f"{escape(stored.model)}\n{rate}")
    return [_article(f"leak:{stored.id}:{l10n.lang}", l10n("inline-leak-cached", model=stored.model), text)], None


async def _spell(word: str, hub: ModelHub | None, l10n: Translator) -> list[InlineQueryResultArticle]:
    """The trained spellers' spelling, within a time bound; nothing when they are not available here."""
    from models.spelling.parse import SpellInputError, parse_word

    try:
        word, language = parse_word(word)
    except SpellInputError:
        return []
    if hub is None:
        return []
    try:
        text = await asyncio.wait_for(_trained_card(word, language, hub), SPELL_TIMEOUT_S)
    except Exception as error:  # noqa: BLE001 - an inline answer never fails: no spell result then
        log.info("inline spell unavailable: %s", type(error).__name__)
        return []
    return [_article(f"spell:{word}:{l10n.lang}", l10n("inline-spell-title", word=word), text,
                     l10n("inline-spell-description"))]


async def _trained_card(word: str, language: str, hub: ModelHub) -> str:
    from handlers.spell import marked
    from models.spelling.metrics import SpellingResult
    from services.spell import SpellService

    pieces, trained = await SpellService(hub).trained_only(word)  # no LLM generation inline
    lines = [f"<b>/spell</b> {isolate(escape(word))}",
             "• " + isolate("".join(f"[{escape(p)}]" for p in pieces))]
    lines += [f"• {escape(name)}: {marked(SpellingResult(name, word, predicted))}"
              for name, predicted in trained.items()]
    return "\n".join(lines)


async def start_leak(message: Message, command: CommandObject, bot: Bot, hub: ModelHub, settings: Settings,
                     session: AsyncSession, l10n: Translator, history: HistoryRecorder, db_user: User | None) -> None:
    """`/start leak-<payload>` from the inline deep link: runs that probe here, as /leak would."""
    arguments = leak_arguments(command.args or "")
    if arguments is None:
        raise UserInputError("leak-usage", "bad deep link")
    history.begin("leak", arguments)
    probes = leak_handlers.service(session, hub, settings)
    probe = probes.probe_for(arguments, l10n.lang)
    await leak_handlers.run_and_reply(bot, message.chat.id, probe, probes.default_model(), probes, l10n=l10n,
                                      history=history, db_user=db_user, arguments=arguments)


def create_router() -> Router:
    router = feature_router("inline", model_errors="leak")
    router.inline_query.register(inline)
    router.message.register(start_leak, CommandStart(deep_link=True, magic=F.args.startswith("leak-")),
                            flags={"expensive": True})
    return router
