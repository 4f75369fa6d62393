"""The WikiSpell-style benchmark: accuracy (exact match, %) and character error rate per system, language and
frequency bucket."""
import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from models.spelling.evalsets import held_out
from models.spelling.llm import FEW_SHOT, llm_spell
from models.spelling.metrics import cer
from models.spelling.seq2seq import Speller
from models.spelling.words import LANGUAGES, read_tsv, script_of

LLM_SYSTEMS = ("gemma-3-270m", "smollm2-135m-instruct")
TRAINED_SYSTEMS = ("char-blind", "char-aware")
ALL_SYSTEMS = LLM_SYSTEMS + TRAINED_SYSTEMS


async def spell_with(system: str, words: list[str], language: str, hub: Any, tokenizer: Any) -> list[str]:
    if system in TRAINED_SYSTEMS:
        model = load_trained(system)
        return await asyncio.to_thread(model.spell, words, tokenizer)
    return await llm_spell(hub.text(system), words, language)


_TRAINED: dict[str, Speller] = {}


def load_trained(name: str) -> Speller:
    if name not in _TRAINED:
        _TRAINED[name] = Speller.load(name)
    return _TRAINED[name]


def test_sets(languages: Iterable[str], words_args: list[str], limit: int) -> dict[str, dict[str, list[str]]]:
    """language → bucket → words. From `--words BUCKET=PATH ...` (each word's language told by its script, words of
    no known script counted as English), else the shipped held-out lists (`evalsets.py`) less the few-shot
    examples."""
    if words_args:
        sets: dict[str, dict[str, list[str]]] = {}
        for item in words_args:
            bucket, _, path = item.partition("=")
            if not path:
                bucket, path = Path(item).stem, item
            for word, target in read_tsv(path):
                language = script_of(target) or script_of(word) or "en"
                sets.setdefault(language, {}).setdefault(bucket, []).append(target)
        wanted = set(languages)
        return {lang: {b: (w[:limit] if limit else w) for b, w in buckets.items()}
                for lang, buckets in sets.items() if lang in wanted}
    result = {}
    lists = held_out()
    for language in languages:
        examples = {w.casefold() for w in FEW_SHOT[language]}
        result[language] = {bucket: [w for w in words if w.casefold() not in examples][: limit or None]
                            for bucket, words in lists[language].items()}
    return result


async def run_bench(hub: Any, tokenizer: Any, *, languages: Iterable[str] = LANGUAGES,
                    systems: Sequence[str] = ALL_SYSTEMS, words_args: Iterable[str] = (), limit: int = 0,
                    progress: Callable[[int, int], Awaitable[None]] | None = None,
                    errors: list[dict[str, Any]] | None = None,
                    results: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`errors`, when given, collects every wrong spelling (system, language, bucket, word, predicted)."""
    started = time.perf_counter()
    sets = test_sets(languages, list(words_args), limit)
    results = [] if results is None else results
    total = len(systems) * sum(len(buckets) for buckets in sets.values())
    done = 0
    for language, buckets in sets.items():
        for system in systems:
            for bucket, words in buckets.items():
                if not words:
                    continue
                predicted = await spell_with(system, words, language, hub, tokenizer)
                correct = sum(p == w for p, w in zip(predicted, words, strict=True))
                if errors is not None:
                    errors.extend({"system": system, "language": language, "bucket": bucket, "word": w,
                                   "predicted": p} for p, w in zip(predicted, words, strict=True) if p != w)
                results.append({"system": system, "language": language, "bucket": bucket, "n": len(words),
                                "accuracy": round(100 * correct / len(words), 1),
                                "cer": round(sum(cer(p, w) for p, w in zip(predicted, words, strict=True)) / len(words),
                                             3)})
                done += 1
                if progress is not None:
                    await progress(done, total)
    return {"results": results, "seconds": round(time.perf_counter() - started, 1)}


def table(report: dict[str, Any]) -> str:
    rows = report["results"]
    buckets = list(dict.fromkeys(r["bucket"] for r in rows))
    lines = []
    for language in dict.fromkeys(r["language"] for r in rows):
        lines.append(f"[{language}] accuracy % (CER)")
        lines.append(f"{'system':<24}" + "".join(f"{b:>15}" for b in buckets))
        for system in dict.fromkeys(r["system"] for r in rows):
            cells = {r["bucket"]: r for r in rows if r["language"] == language and r["system"] == system}
            lines.append(f"{system:<24}" + "".join(
                f"{cells[b]['accuracy']:>8.1f} ({cells[b]['cer']:.2f})" if b in cells else f"{'-':>15}"
                for b in buckets))
    return "\n".join(lines)


def chart(report: dict[str, Any], path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["results"]
    languages = list(dict.fromkeys(r["language"] for r in rows))
    buckets = list(dict.fromkeys(r["bucket"] for r in rows))
    systems = list(dict.fromkeys(r["system"] for r in rows))
    figure, axes = plt.subplots(1, len(languages), figsize=(4.2 * len(languages), 4), squeeze=False, sharey=True)
    width = 0.8 / len(systems)
    for axis, language in zip(axes[0], languages, strict=True):
        for index, system in enumerate(systems):
            cells = {r["bucket"]: r["accuracy"] for r in rows if r["language"] == language and r["system"] == system}
            axis.bar([i + index * width for i in range(len(buckets))], [cells.get(b, 0) for b in buckets], width,
                     label=system)
        axis.set_xticks([i + width * (len(systems) - 1) / 2 for i in range(len(buckets))], buckets, rotation=30)
        axis.set_title(f"{language}: exact-match accuracy (%)")
        axis.set_ylim(0, 100)
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


async def run_cli(args: argparse.Namespace) -> int:
    from models.config import ModelSettings
    from models.hub import ModelHub
    from models.spelling.train import gemma_tokenizer_and_embeddings

    systems = args.systems or list(ALL_SYSTEMS)
    unknown = [s for s in systems if s not in ALL_SYSTEMS]
    if unknown:
        print(f"error: unknown system(s) {', '.join(unknown)}; known: {', '.join(ALL_SYSTEMS)}", file=sys.stderr)
        return 2
    tokenizer, _ = gemma_tokenizer_and_embeddings(with_embeddings=False)
    hub = ModelHub(ModelSettings(engine_queue_size=512, engine_request_timeout_s=3600))
    try:
        errors: list[dict[str, Any]] = []
        cells: list[dict[str, Any]] = []

        async def progress(done: int, total: int) -> None:
            # Long runs (the LLMs on a CPU) say where they are, and leave what they measured if stopped.
            row = cells[-1] if cells else {}
            logging.getLogger(__name__).info("%d/%d %s", done, total, row)
            if args.json:
                partial = {"results": cells, "seconds": None, "partial": True}
                await asyncio.to_thread(write_outputs, argparse.Namespace(json=args.json, chart=None), partial, [])

        report = await run_bench(hub, tokenizer, languages=args.lang or list(LANGUAGES), systems=systems,
                                 words_args=args.words, limit=args.limit, errors=errors, progress=progress,
                                 results=cells)
    finally:
        await hub.close()
    print(table(report))
    print(f"({report['seconds']} s)")
    await asyncio.to_thread(write_outputs, args, report, errors)
    return 0


def write_outputs(args: argparse.Namespace, report: dict[str, Any], errors: list[dict[str, Any]]) -> None:
    """--json (the report), --errors (every wrong spelling), --chart."""
    for path, data in ((args.json, report), (getattr(args, "errors", None), errors)):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1))
    if args.chart:
        chart(report, args.chart)
