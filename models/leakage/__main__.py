"""`python -m models.leakage bench --suite PATH --model NAME [--n 10] [--temperatures 0 0.5 1 1.5] [--seed 0]
[--json OUT] [--chart OUT.png]` — Leak-Rate of a model on a probe suite, overall, per category, per language."""
import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from models.config import ModelSettings
from models.errors import ModelError
from models.hub import ModelHub
from models.leakage.chart import leak_chart
from models.leakage.probes import DEFAULT_SUITE, SuiteError, load_suite
from models.leakage.report import table
from models.leakage.runner import PAPER_TEMPERATURES, run_suite
from models.leakage.similarity import MEASURES


async def bench(args) -> int:
    try:
        probes = load_suite(args.suite)
    except (SuiteError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.limit:
        probes = probes[:args.limit]
    settings = ModelSettings.load(engine_max_n=max(16, args.n), engine_queue_size=256)
    hub = ModelHub(settings)
    try:
        engine = await hub.text(args.model).ready()
        embedder = await hub.embedder(args.embedder).ready()

        async def progress(done: int, total: int) -> None:
            if done % 8 == 0 or done == total:
                print(f"  {done}/{total} probes", file=sys.stderr, flush=True)

        result = await run_suite(engine, embedder, probes, suite_name=str(args.suite), n=args.n,
                                 temperatures=args.temperatures, seed=args.seed, measure=args.measure,
                                 max_new_tokens=args.max_new_tokens, progress=progress)
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        await hub.close()
    print(table(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    if args.chart:
        leak_chart([result], args.chart)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.leakage", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="run a probe suite and report Leak-Rate")
    b.add_argument("--suite", type=Path, default=DEFAULT_SUITE)
    b.add_argument("--model", default="gemma-3-270m")
    b.add_argument("--n", type=int, default=10, help="samples per temperature (paper: 10)")
    b.add_argument("--temperatures", type=float, nargs="+", default=list(PAPER_TEMPERATURES))
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--measure", default="cosine", choices=sorted(MEASURES),
                   help="similarity measure: cosine (default) or token")
    b.add_argument("--embedder", default="minilm")
    b.add_argument("--max-new-tokens", type=int, default=24)
    b.add_argument("--limit", type=int, default=0, help="only the first N probes")
    b.add_argument("--json", type=Path)
    b.add_argument("--chart", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
