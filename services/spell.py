"""Spelling: what the models see of a word and how four systems spell it (/spell), and the spelling benchmark
(/spellbench). Nothing is stored beyond the history row the handler writes."""
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.errors import UserInputError
from models.hub import ModelHub
from models.spelling.bench import LLM_SYSTEMS, load_trained
from models.spelling.llm import llm_spell
from models.spelling.parse import MAX_CHARS, SpellInputError, parse_word
from storage.db import released

Progress = Callable[[int, int], Awaitable[None]]
TRAINED = ("char-aware", "char-blind")
INLINE_PIECES = "gemma-3-270m"  # whose pieces the inline answer shows (char-blind has its own tokenizer)


@dataclass(frozen=True)
class SpellAnalysis:
    word: str
    language: str
    pieces: dict[str, list[str]]  # model → the word's tokens
    llm: dict[str, str]  # model → its spelling
    trained: dict[str, str]  # char-aware / char-blind → their spelling
    seconds: float

    def correct(self) -> dict[str, bool]:
        return {name: predicted == self.word for name, predicted in {**self.llm, **self.trained}.items()}


@dataclass(frozen=True)
class SpellBench:
    report: dict[str, Any]
    table: str
    chart_png: bytes


def parse(arguments: str | None) -> tuple[str, str]:
    """(normalized word, language); a bad word is the user's input error (spell-err-<code>)."""
    try:
        return parse_word(arguments)
    except SpellInputError as error:
        raise UserInputError(f"spell-err-{error.code}", error.code, limit=MAX_CHARS) from error


class SpellService:
    def __init__(self, hub: ModelHub, session: AsyncSession | None = None) -> None:
        # The update's session, only to release it while the models work (nothing is stored here); None for
        # background work, which has none.
        self.hub, self.session = hub, session

    async def analyse(self, word: str, language: str) -> SpellAnalysis:
        async with released(self.session):  # the models and the trained spellers: no connection held meanwhile
            return await self._analyse(word, language)

    async def _analyse(self, word: str, language: str) -> SpellAnalysis:
        started = time.perf_counter()
        engines = {name: await self.hub.text(name).ready() for name in LLM_SYSTEMS}
        pieces = {name: engine.tokenize(word) for name, engine in engines.items()}
        spellings = await asyncio.gather(*(llm_spell(engine, [word], language) for engine in engines.values()))
        trained = await _spell_trained(word)
        llm = {name: out[0] for name, out in zip(engines, spellings, strict=True)}
        return SpellAnalysis(word, language, pieces, llm, trained, time.perf_counter() - started)

    async def trained_only(self, word: str) -> tuple[list[str], dict[str, str]]:
        """The fast path (inline mode): gemma's pieces and the trained spellers' answers, no LLM generation."""
        engine = await self.hub.text(INLINE_PIECES).ready()  # for its tokenizer only
        return engine.tokenize(word), await _spell_trained(word)

    async def bench(self, limit: int, progress: Progress | None = None) -> SpellBench:
        from models.spelling.bench import chart, run_bench, table

        report = await run_bench(self.hub, limit=limit, progress=progress)
        return SpellBench(report, table(report), await asyncio.to_thread(_chart_png, report, chart))


async def _spell_trained(word: str) -> dict[str, str]:
    trained: dict[str, str] = {}
    for name in TRAINED:
        model = await asyncio.to_thread(load_trained, name)  # the first load reads weights from disk
        trained[name] = (await asyncio.to_thread(model.spell, [word]))[0]
    return trained


def _chart_png(report: dict[str, Any], chart: Callable[[dict[str, Any], Path], Path]) -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        return chart(report, Path(directory) / "spelling.png").read_bytes()
