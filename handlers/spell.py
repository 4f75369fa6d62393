"""/spell and /spellbench: what models see of a word and how they spell it (services/spell.py runs it,
models/spelling computes; this module parses, calls the service and renders)."""
import time

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatkit.render import escape, isolate
from handlers.commands import CommandSpec, command_input
from handlers.failures import feature_router
from handlers.i18n import Html, Translator
from handlers.jobs import JobRegistry
from handlers.model_errors import model_error_text
from handlers.sending import chat_action, send_long
from handlers.settings import Settings
from models.errors import ModelError
from models.hub import ModelHub
from models.spelling.bench import LLM_SYSTEMS
from models.spelling.llm import byte_view
from models.spelling.metrics import SpellingResult
from models.spelling.words import bucket_of
from services.history import HistoryRecorder
from services.spell import SpellAnalysis, SpellService, parse

commands = [
    CommandSpec("spell", "cmd-spell", usage_key="spell-usage", expensive=True),
    CommandSpec("spellbench", "cmd-spellbench", admin_only=True, expensive=True),
]


def marked(result: SpellingResult) -> str:
    """The spelling with wrong letters bold-underlined, and a verdict."""
    letters = []
    for char, ok in result.marks():
        letters.append(escape(char) if ok else f"<b><u>{escape(char)}</u></b>")
    missing = len(result.word) - len(result.predicted)
    spelled = " ".join(letters) + (" <b><u>_</u></b>" * missing if missing > 0 else "")
    return f"{isolate(spelled or '∅')} " + ("✅" if result.correct else f"❌ CER {result.cer:.2f}")


def render(analysis: SpellAnalysis, l10n: Translator) -> str:
    word, language = analysis.word, analysis.language
    lines = [l10n("spell-title", word=word, language=language, band=l10n(f"spell-band-{bucket_of(word, language)}")),
             l10n("spell-sees")]
    for name, pieces in analysis.pieces.items():
        shown = "".join(f"[{escape(piece)}]" for piece in pieces)
        lines.append(f"• {escape(name)}: {isolate(shown)} — {l10n('spell-tokens', count=len(pieces))}")
    lines.append(f"• bytes: <code>{escape(' | '.join(byte_view(word)))}</code>")
    lines.append(l10n("spell-spellings"))
    for name, predicted in analysis.llm.items():
        lines.append(f"• {escape(name)}: {marked(SpellingResult(name, word, predicted))}")
    for name, predicted in analysis.trained.items():
        lines.append(f"• {escape(name)}: {marked(SpellingResult(name, word, predicted))}")
    lines.append(l10n("spell-time", seconds=f"{analysis.seconds:.1f}"))
    return Html("\n".join(lines))


async def spell(message: Message, command: CommandObject, bot: Bot, hub: ModelHub, session: AsyncSession,
                l10n: Translator, history: HistoryRecorder) -> None:
    history.begin("spell", command.args or "")
    typed, from_reply = command_input(command.args, message)
    if from_reply:  # a reply spells the replied message's first word; an empty one gets the usual "empty" answer
        typed = next(iter(typed.split()), "")
    word, language = parse(typed)
    history.begin("spell", word)
    async with chat_action(bot, message.chat.id):
        analysis = await SpellService(hub, session).analyse(word, language)
    await message.answer(render(analysis, l10n))
    await history.record("spell", word, result={"language": language, "correct": analysis.correct()},
                         model=",".join(LLM_SYSTEMS), latency_ms=int(analysis.seconds * 1000))


async def spellbench(message: Message, bot: Bot, hub: ModelHub, settings: Settings, l10n: Translator,
                     history: HistoryRecorder, jobs: JobRegistry,
                     sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    # Who may: the bot's admins (CommandSpec admin_only), checked by the guard router before this runs.
    status = await message.answer(l10n("spell-bench-progress", done="0", total="…"))
    jobs.spawn(_bench(bot, message.chat.id, status.message_id, SpellService(hub),
                          settings.spell_bench_limit, l10n),
               name="spellbench", bot=bot, sessionmaker=sessionmaker, chat_id=message.chat.id,
               user_id=message.from_user.id if message.from_user else None, command="spellbench",
               status_message_id=status.message_id, cancelled_text=l10n("job-cancelled"))
    await history.record("spellbench", result={"limit": settings.spell_bench_limit})


async def _bench(bot: Bot, chat_id: int, message_id: int, spelling: SpellService, limit: int,
                 l10n: Translator) -> None:
    """Background work after the update: its errors have no router to go to, so the model's is said here."""
    last = 0.0

    async def progress(done: int, total: int) -> None:
        nonlocal last
        if time.monotonic() - last > 3 or done == total:
            last = time.monotonic()
            await bot.edit_message_text(l10n("spell-bench-progress", done=str(done), total=str(total)),
                                        chat_id=chat_id, message_id=message_id)

    try:
        bench = await spelling.bench(limit, progress)
    except ModelError as error:
        await bot.send_message(chat_id, model_error_text(error, l10n, "spell"))
        return
    await send_long(bot, chat_id, Html(l10n("spell-bench-done", seconds=str(bench.report["seconds"])) +
                                       f"\n<pre>{escape(bench.table)}</pre>"))
    await bot.send_photo(chat_id, BufferedInputFile(bench.chart_png, filename="spelling.png"))


def create_router() -> Router:
    router = feature_router("spell", model_errors="spell")
    router.message.register(spell, Command("spell"), flags={"expensive": True})
    router.message.register(spellbench, Command("spellbench"), flags={"expensive": True})
    return router
