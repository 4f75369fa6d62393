"""/spell and /spellbench: what models see of a word and how they spell it (models/spelling does the work)."""
import asyncio
import tempfile
import time
from pathlib import Path

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bot.commands import CommandSpec
from bot.config import Settings
from bot.i18n import Html, Translator
from bot.render import escape, isolate
from bot.sending import chat_action, send_long
from handlers.model_errors import model_error_text
from models.errors import ModelError
from models.spelling.bench import LLM_SYSTEMS, load_trained
from models.spelling.llm import byte_view, llm_spell
from models.spelling.metrics import SpellingResult
from models.spelling.parse import SpellInputError, parse_word
from models.spelling.words import bucket_of

router = Router(name="spell")
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


async def analyse(word: str, language: str, hub) -> dict:
    engines = {name: await hub.text(name).ready() for name in LLM_SYSTEMS}
    pieces = {name: engine.tokenize(word) for name, engine in engines.items()}
    spellings = await asyncio.gather(*(llm_spell(engine, [word], language) for engine in engines.values()))
    gemma_tokenizer = engines["gemma-3-270m"].tokenizer
    trained = {}
    for name in ("char-aware", "char-blind"):
        model = await asyncio.to_thread(load_trained, name)  # the first load reads weights from disk
        trained[name] = (await asyncio.to_thread(model.spell, [word], gemma_tokenizer))[0]
    return {"pieces": pieces, "llm": {name: out[0] for name, out in zip(engines, spellings)}, "trained": trained}


def render(word: str, language: str, analysis: dict, l10n: Translator, seconds: float) -> str:
    lines = [l10n("spell-title", word=word, language=language, band=l10n(f"spell-band-{bucket_of(word, language)}")),
             l10n("spell-sees")]
    for name, pieces in analysis["pieces"].items():
        shown = "".join(f"[{escape(piece)}]" for piece in pieces)
        lines.append(f"• {escape(name)}: {isolate(shown)} — {l10n('spell-tokens', count=len(pieces))}")
    lines.append(f"• bytes: <code>{escape(' | '.join(byte_view(word)))}</code>")
    lines.append(l10n("spell-spellings"))
    for name, predicted in analysis["llm"].items():
        lines.append(f"• {escape(name)}: {marked(SpellingResult(name, word, predicted))}")
    for name, predicted in analysis["trained"].items():
        lines.append(f"• {escape(name)}: {marked(SpellingResult(name, word, predicted))}")
    lines.append(l10n("spell-time", seconds=f"{seconds:.1f}"))
    return Html("\n".join(lines))


@router.message(Command("spell"), flags={"expensive": True})
async def spell(message: Message, command: CommandObject, bot: Bot, hub, l10n: Translator, history) -> None:
    try:
        word, language = parse_word(command.args)
    except SpellInputError as error:
        await message.answer(l10n(f"spell-err-{error.code}"))
        await history.record("spell", command.args or "", status="rejected", result={"reason": error.code})
        return
    started = time.perf_counter()
    try:
        async with chat_action(bot, message.chat.id):
            analysis = await analyse(word, language, hub)
    except ModelError as error:
        await message.answer(model_error_text(error, l10n, "spell"))
        await history.record("spell", word, status="rejected", result={"error": type(error).__name__})
        return
    seconds = time.perf_counter() - started
    await message.answer(render(word, language, analysis, l10n, seconds))
    correct = {name: predicted == word for name, predicted in {**analysis["llm"], **analysis["trained"]}.items()}
    await history.record("spell", word, result={"language": language, "correct": correct},
                         model=",".join(LLM_SYSTEMS), latency_ms=int(seconds * 1000))


@router.message(Command("spellbench"), flags={"expensive": True})
async def spellbench(message: Message, bot: Bot, hub, settings: Settings, l10n: Translator, history,
                     background) -> None:
    if not settings.is_admin(message.from_user.id if message.from_user else None):
        await message.answer(l10n("admin-only"))
        await history.record("spellbench", status="rejected", result={"reason": "not admin"})
        return
    status = await message.answer(l10n("spell-bench-progress", done="0", total="…"))
    background.spawn(_bench(bot, message.chat.id, status.message_id, hub, settings, l10n), name="spellbench")
    await history.record("spellbench", result={"limit": settings.spell_bench_limit})


async def _bench(bot: Bot, chat_id: int, message_id: int, hub, settings: Settings, l10n: Translator) -> None:
    from models.spelling.bench import chart, run_bench, table

    last = 0.0

    async def progress(done: int, total: int) -> None:
        nonlocal last
        if time.monotonic() - last > 3 or done == total:
            last = time.monotonic()
            await bot.edit_message_text(l10n("spell-bench-progress", done=str(done), total=str(total)),
                                        chat_id=chat_id, message_id=message_id)

    try:
        gemma = await hub.text("gemma-3-270m").ready()
        report = await run_bench(hub, gemma.tokenizer, limit=settings.spell_bench_limit, progress=progress)
    except ModelError as error:
        await bot.send_message(chat_id, model_error_text(error, l10n, "spell"))
        return
    await send_long(bot, chat_id, Html(l10n("spell-bench-done", seconds=str(report["seconds"])) +
                                       f"\n<pre>{escape(table(report))}</pre>"))
    with tempfile.TemporaryDirectory() as directory:
        path = chart(report, Path(directory) / "spelling.png")
        await bot.send_photo(chat_id, BufferedInputFile(path.read_bytes(), filename="spelling.png"))
