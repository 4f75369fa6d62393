"""`python -m models.leakage bench --suite PATH --model NAME [--n 10] [--temperatures 0 0.5 1 1.5] [--seed 0]
[--measure auto cosine:minilm …] [--strict] [--json OUT] [--chart OUT.png]` — Leak-Rate of a model on a probe suite,
overall, per category, per language, for each similarity measure.

`python -m models.leakage embeddings [--eval FILE.jsonl] [--embedders minilm … token:minilm] [--strict] [--json OUT]
[--write-choice] [--crosslingual]` — sentence-level paired accuracy of each similarity measure per language, and the
measure `auto` uses in each (docs/leakage.md, "Similarity across languages")."""
import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from models.config import ModelSettings
from models.errors import ModelError
from models.hub import ModelHub
from models.leakage import association
from models.leakage.chart import leak_chart
from models.leakage.probes import DEFAULT_SUITE, SuiteError, read_suite
from models.leakage.report import measures_table, table
from models.leakage.runner import PAPER_TEMPERATURES, run_suite
from models.leakage.similarity import known_measure


def _write_json(path: Path, payload: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


async def bench(args: argparse.Namespace) -> int:
    measures = list(dict.fromkeys(args.measure or ["auto"]))
    unknown = [m for m in measures if not known_measure(m)]
    if unknown:
        print(f"error: unknown measure(s) {', '.join(unknown)}: use auto, cosine, token, cosine:<embedder>",
              file=sys.stderr)
        return 2
    try:
        suite = read_suite(args.suite, strict=args.strict)
    except (SuiteError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    probes = suite.probes[:args.limit] if args.limit else suite.probes
    # A benchmark waits as long as it takes: the chat's per-request timeout would fail a long suite on a busy CPU.
    settings = ModelSettings.load(engine_max_n=max(16, args.n), engine_queue_size=256,
                                  engine_request_timeout_s=86400)  # this command's settings, once (reads .env)
    hub = ModelHub(settings)
    try:
        engine = await hub.text(args.model).ready()
        embedder = await hub.embedder(args.embedder).ready()

        async def progress(done: int, total: int) -> None:
            if done % 8 == 0 or done == total:
                print(f"  {done}/{total} probes", file=sys.stderr, flush=True)

        result = await run_suite(engine, embedder, probes, suite_name=str(args.suite), n=args.n,
                                 temperatures=args.temperatures, seed=args.seed, measure=measures, embedders=hub,
                                 max_new_tokens=args.max_new_tokens, progress=progress)
    except (ModelError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        await hub.close()
    result.skipped = suite.skipped
    print(table(result))
    if len(measures) > 1:
        print(measures_table(result))
    if args.json:
        await asyncio.to_thread(_write_json, args.json, result.to_json() | {"suite_format": suite.format})
    if args.chart:
        await asyncio.to_thread(leak_chart, [result], args.chart)
    return 0


def _scorer(method: str, engine: Any) -> "association.Scorer":
    """Similarities of each concept to its related and unrelated sentence under one measure."""
    from models.leakage.similarity import get_measure

    async def cosine(concepts: list[str], related: list[str], unrelated: list[str]) -> tuple[Any, Any]:
        vectors = np.asarray(await engine.embed([*concepts, *related, *unrelated]), dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        n = len(concepts)
        c, r, u = vectors[:n], vectors[n:2 * n], vectors[2 * n:]
        return np.einsum("ij,ij->i", c, r), np.einsum("ij,ij->i", c, u)

    async def per_item(concepts: list[str], related: list[str], unrelated: list[str]) -> tuple[Any, Any]:
        pairs = [await get_measure(method)(engine, c, [r, u]) for c, r, u in
                 zip(concepts, related, unrelated, strict=True)]
        return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])

    return cosine if method == "cosine" else per_item


async def embeddings(args: argparse.Namespace) -> int:
    from models.leakage import embedeval
    from models.registry import EMBEDDER_CHOICE

    try:
        data = association.read_association(args.eval, strict=args.strict)
    except association.AssociationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    hub = ModelHub(ModelSettings.load())  # this command's settings, once (reads .env)
    crosslingual: tuple[list[Any], dict[str, Any]] | None = None
    try:
        scorers = {}
        for measure in args.embedders:
            method, _, name = measure.rpartition(":")
            scorers[measure] = _scorer(method or "cosine", await hub.embedder(name).ready())
        results = await association.evaluate(scorers, data)
        choice = association.choose_similarity(results)
        if args.write_choice or args.crosslingual:  # digest grouping: translation pairs, cosine embedders only
            engines: dict[str, Any] = {n: (await hub.embedder(n).ready()).embed for n in args.embedders
                                       if ":" not in n}
            items = embedeval.load_items(args.data)
            separations = await embedeval.evaluate(engines, items)
            crosslingual = separations, await embedeval.choose_grouping(engines, items, separations)
    except (ModelError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        await hub.close()
    print(association.report(results, choice, data))
    if crosslingual is not None and args.crosslingual:
        print(embedeval.report(*crosslingual))
    if args.json:
        payload = association.to_json(results, choice, data)
        if crosslingual is not None:
            payload["crosslingual"] = embedeval.to_json(*crosslingual, args.data)
        await asyncio.to_thread(_write_json, args.json, payload)
    if args.write_choice and crosslingual is not None:
        missing = [language for language in association.LANGUAGES if language not in choice["similarity"]]
        if missing:
            print(f"error: --write-choice needs every language; {args.eval} has none in {', '.join(missing)}",
                  file=sys.stderr)
            return 2
        stored = choice | crosslingual[1] | {"data": str(args.eval)}
        await asyncio.to_thread(_write_json, EMBEDDER_CHOICE, stored)
        print(f"wrote {EMBEDDER_CHOICE}", file=sys.stderr)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from models.leakage.embedeval import DATA

    parser = argparse.ArgumentParser(prog="python -m models.leakage", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="run a probe suite and report Leak-Rate")
    b.add_argument("--suite", type=Path, default=DEFAULT_SUITE,
                   help="JSONL suite, or the paper's format (CSV/TSV/JSONL: prompt, concept, n_control, …)")
    b.add_argument("--model", default="gemma-3-270m")
    b.add_argument("--n", type=int, default=10, help="samples per temperature (paper: 10)")
    b.add_argument("--temperatures", type=float, nargs="+", default=list(PAPER_TEMPERATURES))
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--measure", nargs="+", action="extend", metavar="MEASURE",
                   help="one or more: auto (default: the measure chosen for each probe's language), "
                        "cosine / token (on --embedder), cosine:<embedder>; the first is the headline, all are "
                        "scored on the same continuations")
    b.add_argument("--embedder", default="minilm", help="the embedder of plain cosine/token (default minilm)")
    b.add_argument("--max-new-tokens", type=int, default=24)
    b.add_argument("--limit", type=int, default=0, help="only the first N probes")
    b.add_argument("--strict", action="store_true", help="fail on any bad suite line instead of skipping it")
    b.add_argument("--json", type=Path)
    b.add_argument("--chart", type=Path)
    e = sub.add_parser("embeddings", help="sentence-level paired accuracy per similarity measure and language")
    e.add_argument("--eval", type=Path, default=association.DATA,
                   help='JSON lines {"id", "lang", "concept", "related", "unrelated"} (other fields ignored)')
    e.add_argument("--embedders", nargs="+", default=list(association.MEASURES), metavar="MEASURE",
                   help="embedder names (cosine on each; REMOTE_MODELS embedders too) or token:<embedder>")
    e.add_argument("--strict", action="store_true", help="reject the file on any bad line instead of skipping it")
    e.add_argument("--json", type=Path)
    e.add_argument("--write-choice", action="store_true",
                   help="store the per-language choice (and digest grouping's) in models/embedder_choice.json")
    e.add_argument("--crosslingual", action="store_true",
                   help="also print the cross-lingual table (paraphrase, phrase association, translation AUC)")
    e.add_argument("--data", type=Path, default=DATA, help="the cross-lingual set digest grouping is chosen on")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    return asyncio.run(bench(args) if args.command == "bench" else embeddings(args))


if __name__ == "__main__":
    sys.exit(main())
