"""The WikiSpell-style benchmark: exact match (%) and mean character error rate per system, language and frequency
bucket, each with a 95 % interval (Wilson for exact match, a seeded percentile bootstrap over words for mean CER).
The LLMs run each bucket as one request to their continuous-batching engine, both engines at once, a second bucket
queued behind the first so the batch never drains; finished cells can be written as they come and skipped on
`--resume`."""
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
from models.spelling.metrics import bootstrap_mean_ci, cer, wilson_ci
from models.spelling.seq2seq import Speller
from models.spelling.words import LANGUAGES, read_tsv, script_of

LLM_SYSTEMS = ("gemma-3-270m", "smollm2-135m-instruct")
TRAINED_SYSTEMS = ("char-blind", "char-aware")
ALL_SYSTEMS = LLM_SYSTEMS + TRAINED_SYSTEMS
# Words per bucket when no limit is given: the LLMs take seconds a word on a CPU, so 100 (a ±10-point Wilson interval
# at worst); the trained models take milliseconds, so every word.
LLM_LIMIT = 100
# Rows the engine decodes together in the bench (ModelSettings.engine_max_batch); see docs/spelling.md, "Benchmark".
BENCH_BATCH = 16
CELLS_IN_FLIGHT = 2  # per LLM: the next bucket's rows join the batch as the current bucket's finish
log = logging.getLogger(__name__)
Cell = tuple[str, str, str]  # (system, language, bucket)


async def spell_with(system: str, words: list[str], language: str, hub: Any) -> list[str]:
    if system in TRAINED_SYSTEMS:
        model = await asyncio.to_thread(load_trained, system)
        return await asyncio.to_thread(model.spell, words)
    return await llm_spell(hub.text(system), words, language)


_TRAINED: dict[str, Speller] = {}


def load_trained(name: str) -> Speller:
    if name not in _TRAINED:
        _TRAINED[name] = Speller.load(name)
    return _TRAINED[name]


def limit_for(system: str, limit: int | None) -> int:
    """Words per bucket for a system; 0 means all. `limit` None: LLM_LIMIT for the LLMs, all for the trained."""
    if limit is None:
        return LLM_LIMIT if system in LLM_SYSTEMS else 0
    return limit


def read_words_file(path: str | Path) -> dict[str, list[str]]:
    """A WikiSpell TSV file's target words by language. Each word's language is the script most of its letters are
    in (`e.g.` en, `т.е.` ru); a token with no letter of the four scripts (`42`, `€`, `😂`) belongs to the file's
    main language. No word is dropped: every line's word arrives as read_tsv normalised it."""
    words = [target for _, target in read_tsv(path)]
    languages = [script_of(word) for word in words]
    known = [language for language in languages if language]
    main = max(LANGUAGES, key=known.count) if known else "en"
    by_language: dict[str, list[str]] = {}
    for word, language in zip(words, languages, strict=True):
        by_language.setdefault(language or main, []).append(word)
    return by_language


def test_sets(languages: Iterable[str], words_args: list[str], limit: int = 0,
              buckets: Sequence[str] | None = None) -> dict[str, dict[str, list[str]]]:
    """language → bucket → words. From `--words BUCKET=PATH ...` (read_words_file), else the shipped held-out lists
    (`evalsets.py`) less the few-shot examples. `buckets` keeps only those buckets; `limit` cuts each (0: all)."""
    wanted = list(languages)
    sets: dict[str, dict[str, list[str]]] = {}
    if words_args:
        for item in words_args:
            bucket, _, path = item.partition("=")
            if not path:
                bucket, path = Path(item).stem, item
            for language, words in read_words_file(path).items():
                sets.setdefault(language, {}).setdefault(bucket, []).extend(words)
    else:
        lists = held_out()
        for language in wanted:
            examples = {w.casefold() for w in FEW_SHOT[language]}
            sets[language] = {bucket: [w for w in words if w.casefold() not in examples]
                              for bucket, words in lists[language].items()}
    return {language: {bucket: words[:limit or None] for bucket, words in sets[language].items()
                       if buckets is None or bucket in buckets}
            for language in wanted if language in sets}


def score(system: str, language: str, bucket: str, words: list[str], predicted: list[str]) -> dict[str, Any]:
    """One result row: n, exact match % with its Wilson interval, mean CER with its bootstrap interval."""
    correct = sum(p == w for p, w in zip(predicted, words, strict=True))
    rates = [cer(p, w) for p, w in zip(predicted, words, strict=True)]
    low, high = wilson_ci(correct, len(words))
    cer_low, cer_high = bootstrap_mean_ci(rates)
    return {"system": system, "language": language, "bucket": bucket, "n": len(words),
            "accuracy": round(100 * correct / len(words), 1), "cer": round(sum(rates) / len(words), 3),
            "ci95": [round(100 * low, 1), round(100 * high, 1)], "cer_ci95": [round(cer_low, 3), round(cer_high, 3)]}


async def run_bench(hub: Any, *, languages: Iterable[str] = LANGUAGES,
                    systems: Sequence[str] = ALL_SYSTEMS, words_args: Iterable[str] = (), limit: int | None = None,
                    buckets: Sequence[str] | None = None,
                    progress: Callable[[int, int], Awaitable[None]] | None = None,
                    errors: list[dict[str, Any]] | None = None,
                    results: list[dict[str, Any]] | None = None,
                    skip: Iterable[Cell] = ()) -> dict[str, Any]:
    """`limit`: words per bucket for every system (0: all; None: limit_for's defaults). `errors`, when given,
    collects every wrong spelling (system, language, bucket, word, predicted). `results` receives each row as its
    cell finishes (rows already in it are kept); cells in `skip` are not run. Rows come back in a fixed order."""
    started = time.perf_counter()
    languages, words_args = list(languages), list(words_args)
    sets = test_sets(languages, words_args, 0, buckets)
    results = [] if results is None else results
    skipped = set(skip)
    plan: dict[str, list[tuple[str, str, list[str]]]] = {
        system: [(language, bucket, words[:limit_for(system, limit) or None])
                 for language, by_bucket in sets.items() for bucket, words in by_bucket.items()
                 if words and (system, language, bucket) not in skipped]
        for system in systems}
    total, done = sum(map(len, plan.values())), 0

    spelled = dict.fromkeys(systems, 0)
    spelling_started = time.perf_counter()

    async def one(system: str, language: str, bucket: str, words: list[str]) -> None:
        nonlocal done
        predicted = await spell_with(system, words, language, hub)
        row = score(system, language, bucket, words, predicted)
        results.append(row)
        if errors is not None:
            errors.extend({"system": system, "language": language, "bucket": bucket, "word": w, "predicted": p}
                          for p, w in zip(predicted, words, strict=True) if p != w)
        done += 1
        spelled[system] += len(words)
        elapsed = time.perf_counter() - spelling_started
        log.info("%s %s %s done: %s has spelled %d words in %.0f s (%.2f words/s)",
                 system, language, bucket, system, spelled[system], elapsed, spelled[system] / elapsed)
        if progress is not None:
            await progress(done, total)

    async def run_system(system: str) -> None:
        # An LLM keeps CELLS_IN_FLIGHT buckets queued in its engine; a trained model runs one bucket at a time.
        gate = asyncio.Semaphore(CELLS_IN_FLIGHT if system in LLM_SYSTEMS else 1)

        async def gated(language: str, bucket: str, words: list[str]) -> None:
            async with gate:
                await one(system, language, bucket, words)

        # Tasks start in creation order and the semaphore is FIFO, so cells reach the engine in plan order.
        await asyncio.gather(*(gated(*cell) for cell in plan[system]))

    for system in systems:
        if plan[system] and system in LLM_SYSTEMS:
            # One at a time: two engines loading in two threads race in transformers' lazy imports.
            await hub.text(system).ready()
    spelling_started = time.perf_counter()  # words/s in the log count spelling, not loading
    await asyncio.gather(*(run_system(system) for system in systems if plan[system]))
    # Rows kept from an earlier run may be outside this run's selection: they sort by the lists' own order.
    every_bucket = test_sets(LANGUAGES, words_args, 0, None) if buckets is not None else sets
    results.sort(key=_order([*languages, *LANGUAGES], [*systems, *ALL_SYSTEMS], every_bucket))
    return {"results": results, "seconds": round(time.perf_counter() - started, 1)}


def _order(languages: Sequence[str], systems: Sequence[str],
           sets: dict[str, dict[str, list[str]]]) -> Callable[[dict[str, Any]], tuple[int, int, int]]:
    bucket_names = list(dict.fromkeys(b for by_bucket in sets.values() for b in by_bucket))

    def index(values: Sequence[str], value: str) -> int:
        return values.index(value) if value in values else len(values)

    return lambda row: (index(languages, row["language"]), index(systems, row["system"]),
                        index(bucket_names, row["bucket"]))


def _grid(report: dict[str, Any]) -> tuple[list[str], list[str], list[str], dict[Cell, dict[str, Any]]]:
    rows = report["results"]
    cells = {(r["system"], r["language"], r["bucket"]): r for r in rows}
    return (list(dict.fromkeys(r["language"] for r in rows)), list(dict.fromkeys(r["system"] for r in rows)),
            list(dict.fromkeys(r["bucket"] for r in rows)), cells)


def table(report: dict[str, Any]) -> str:
    """A plain-text table per language: exact match % [95 % CI] (mean CER)."""
    languages, systems, buckets, cells = _grid(report)
    lines = []
    for language in languages:
        lines.append(f"[{language}] exact match % [95 % CI] (mean CER)")
        lines.append(f"{'system':<24}" + "".join(f"{b:>25}" for b in buckets))
        for system in systems:
            lines.append(f"{system:<24}" + "".join(
                f"{_cell_text(cells[(system, language, b)]):>25}" if (system, language, b) in cells else f"{'-':>25}"
                for b in buckets))
    return "\n".join(lines)


def _cell_text(row: dict[str, Any]) -> str:
    ci = row.get("ci95")
    interval = f" [{ci[0]:.0f}–{ci[1]:.0f}]" if ci else ""
    return f"{row['accuracy']:.1f}{interval} ({row['cer']:.2f})"


def markdown(report: dict[str, Any]) -> str:
    """A Markdown table for docs: one row per language and system, one column per bucket; each cell is exact match %
    [its 95 % Wilson interval] and mean CER, with n in the header when every cell has the same n."""
    languages, systems, buckets, cells = _grid(report)
    sizes = {row["n"] for row in report["results"]}
    note = f" (n = {sizes.pop()} words per cell)" if len(sizes) == 1 else ""
    lines = [f"Exact match % [95 % CI] · mean CER{note}", "",
             "| lang | system | " + " | ".join(buckets) + " |", "|---|---|" + "---|" * len(buckets)]
    for language in languages:
        for system in systems:
            if not any((system, language, b) in cells for b in buckets):
                continue
            row_cells = []
            for bucket in buckets:
                row = cells.get((system, language, bucket))
                if row is None:
                    row_cells.append("—")
                    continue
                ci = row.get("ci95")
                interval = f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else ""
                size = "" if note else f" (n {row['n']})"
                row_cells.append(f"{row['accuracy']:.1f}{interval} · {row['cer']:.2f}{size}")
            lines.append(f"| {language} | {system} | " + " | ".join(row_cells) + " |")
    return "\n".join(lines) + "\n"


def chart(report: dict[str, Any], path: str | Path) -> Path:
    """Exact match per language (one panel each), bars per system and bucket, with 95 % Wilson error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    languages, systems, buckets, cells = _grid(report)
    figure, axes = plt.subplots(1, len(languages), figsize=(4.2 * len(languages), 4), squeeze=False, sharey=True)
    width = 0.8 / len(systems)
    for axis, language in zip(axes[0], languages, strict=True):
        for index, system in enumerate(systems):
            # A cell that did not run has no bar (not a bar at 0); rows from before the intervals existed no error bar.
            present = [(i, cells[(system, language, b)]) for i, b in enumerate(buckets)
                       if (system, language, b) in cells]
            rows = [row for _, row in present]
            below = [row["accuracy"] - row["ci95"][0] if "ci95" in row else 0.0 for row in rows]
            above = [row["ci95"][1] - row["accuracy"] if "ci95" in row else 0.0 for row in rows]
            axis.bar([i + index * width for i, _ in present], [row["accuracy"] for row in rows], width,
                     label=system, yerr=[below, above], capsize=2, error_kw={"elinewidth": 0.8})
        axis.set_xticks([i + width * (len(systems) - 1) / 2 for i in range(len(buckets))], buckets, rotation=30)
        axis.set_title(f"{language}: exact match % (95 % CI)")
        axis.set_ylim(0, 100)
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def resumable(path: str | Path | None, errors_path: str | Path | None, sets: dict[str, dict[str, list[str]]],
              systems: Sequence[str], limit: int | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows (and their wrong spellings) of an earlier --json/--errors pair that are still valid: a system, language
    and bucket of `sets`/`systems`, with the number of words this run would give that cell. Rows without intervals
    are dropped (they would be recomputed)."""
    if not path or not Path(path).exists():
        return [], []
    kept = []
    for row in json.loads(Path(path).read_text(encoding="utf-8")).get("results", []):
        words = sets.get(row["language"], {}).get(row["bucket"])
        if row["system"] not in systems or words is None or "ci95" not in row or "cer_ci95" not in row:
            continue
        if row["n"] == len(words[:limit_for(row["system"], limit) or None]):
            kept.append(row)
    keys = {(r["system"], r["language"], r["bucket"]) for r in kept}
    old_errors = json.loads(Path(errors_path).read_text(encoding="utf-8")) if errors_path and Path(
        errors_path).exists() else []
    return kept, [e for e in old_errors if (e["system"], e["language"], e["bucket"]) in keys]


async def run_cli(args: argparse.Namespace) -> int:
    from models.config import ModelSettings
    from models.hub import ModelHub

    systems = args.systems or list(ALL_SYSTEMS)
    unknown = [s for s in systems if s not in ALL_SYSTEMS]
    if unknown:
        print(f"error: unknown system(s) {', '.join(unknown)}; known: {', '.join(ALL_SYSTEMS)}", file=sys.stderr)
        return 2
    languages = args.lang or list(LANGUAGES)
    buckets = getattr(args, "buckets", None)
    cells: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    if getattr(args, "resume", False):
        if not args.json:
            print("error: --resume needs --json (the file whose finished cells are kept)", file=sys.stderr)
            return 2
        # Every language, bucket and system: cells outside this run's selection stay in the file, so runs of a few
        # buckets at a time add up.
        every = test_sets(LANGUAGES, list(args.words), 0, None)
        cells, errors = resumable(args.json, args.errors, every, ALL_SYSTEMS, args.limit)
        log.info("resuming: %d finished cells kept from %s", len(cells), args.json)
    skip = [(r["system"], r["language"], r["bucket"]) for r in cells]
    hub = ModelHub(ModelSettings(engine_queue_size=512, engine_request_timeout_s=3600,
                                 engine_max_batch=getattr(args, "batch", None) or BENCH_BATCH))
    try:
        async def progress(done: int, total: int) -> None:
            # Long runs (the LLMs on a CPU) say where they are, and leave what they measured if stopped.
            row = cells[-1] if cells else {}
            log.info("%d/%d %s", done, total, row)
            if args.json:
                partial = {"results": cells, "seconds": None, "partial": True}
                await asyncio.to_thread(write_outputs, argparse.Namespace(json=args.json, errors=args.errors,
                                                                          chart=None, markdown=None), partial, errors)

        report = await run_bench(hub, languages=languages, systems=systems, words_args=args.words,
                                 limit=args.limit, buckets=buckets, errors=errors, progress=progress, results=cells,
                                 skip=skip)
    finally:
        await hub.close()
    print(table(report))
    print(f"({report['seconds']} s)")
    await asyncio.to_thread(write_outputs, args, report, errors)
    return 0


def write_outputs(args: argparse.Namespace, report: dict[str, Any], errors: list[dict[str, Any]]) -> None:
    """--json (the report), --errors (every wrong spelling), --chart, --markdown."""
    for path, data in ((args.json, report), (getattr(args, "errors", None), errors)):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.chart:
        chart(report, args.chart)
    if getattr(args, "markdown", None):
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(markdown(report), encoding="utf-8")
