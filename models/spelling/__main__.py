"""`python -m models.spelling train` and `python -m models.spelling bench [...]`."""
import argparse
import asyncio
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    from models.spelling.train import BUDGETS

    parser = argparse.ArgumentParser(prog="python -m models.spelling", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train char-aware and char-blind (CPU) into models/spelling/weights")
    train.add_argument("--steps", type=int, default=None,
                       help="optimizer steps per model (default: " +
                            ", ".join(f"{n} {s} × {b}" for n, (s, b, *_) in BUDGETS.items()) + ")")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--only", nargs="+", choices=["char-aware", "char-blind"], default=["char-aware", "char-blind"],
                       help="train only these models (each is reproducible on its own)")
    sub.add_parser("make-eval", help="rebuild the held-out evaluation lists in models/spelling/eval (needs faker) "
                                     "and the CLDR lists in models/spelling/eval/cldr")
    bench = sub.add_parser("bench", help="WikiSpell-style benchmark")
    bench.add_argument("--lang", nargs="+", action="extend", choices=["en", "ru", "fa", "he"],
                       help="language(s), as values or repeated flags; default all four")
    bench.add_argument("--words", nargs="+", action="extend", default=[], metavar="BUCKET=PATH",
                       help="WikiSpell TSV files (word<TAB>w o r d) per bucket, instead of the held-out lists; "
                            "several values and repeated flags add up")
    bench.add_argument("--systems", nargs="+", default=None,
                       help="gemma-3-270m smollm2-135m-instruct char-blind char-aware (default: all)")
    bench.add_argument("--limit", type=int, default=None,
                       help="words per bucket for every system (0: all); default: the first 100 for the LLMs "
                            "(gemma-3-270m, smollm2-135m-instruct), all words for char-blind and char-aware")
    bench.add_argument("--buckets", nargs="+", default=None, metavar="BUCKET",
                       help="run only these buckets (e.g. top rare), in the lists' order")
    bench.add_argument("--batch", type=int, default=None,
                       help="rows each LLM engine decodes together (default 16; docs/spelling.md has the measurement)")
    bench.add_argument("--json", default=None,
                       help="write the report here; while running it holds the cells finished so far")
    bench.add_argument("--resume", action="store_true",
                       help="keep the cells already in --json (and their --errors) with the same word count, run "
                            "only the rest")
    bench.add_argument("--chart", default=None, help="PNG: exact match per bucket with 95 %% CI error bars")
    bench.add_argument("--markdown", default=None, metavar="OUT.md",
                       help="a Markdown table (exact match [95 %% CI] · mean CER) to paste into docs")
    bench.add_argument("--errors", default=None, help="write every wrong spelling to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.command == "train":
        import time

        from models.spelling.train import train_all

        started = time.perf_counter()
        seconds = train_all(steps=args.steps, seed=args.seed, systems=tuple(args.only))
        print(" ".join(f"{name}: {wall:.0f} s (CPU {cpu:.0f} s)" for name, (wall, cpu) in seconds.items()) +
              f"; total {time.perf_counter() - started:.0f} s")
        return 0
    if args.command == "make-eval":
        from models.spelling.evalsets import CLDR_DIR, EVAL_DIR, build, build_cldr

        sets = build()
        print(f"{EVAL_DIR}: " + ", ".join(f"{lang} {sum(map(len, b.values()))}" for lang, b in sets.items()))
        sets = build_cldr()
        print(f"{CLDR_DIR}: " + ", ".join(f"{lang} {sum(map(len, b.values()))}" for lang, b in sets.items()))
        return 0
    from models.spelling.bench import run_cli

    return asyncio.run(run_cli(args))


if __name__ == "__main__":
    sys.exit(main())
