"""`python -m models.spelling train` and `python -m models.spelling bench [...]`."""
import argparse
import asyncio
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    from models.spelling.train import STEPS

    parser = argparse.ArgumentParser(prog="python -m models.spelling", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train char-aware and char-blind (CPU) into models/spelling/weights")
    train.add_argument("--steps", type=int, default=STEPS, help="optimizer steps per model (batches of 128)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--only", nargs="+", choices=["char-aware", "char-blind"], default=["char-aware", "char-blind"],
                       help="train only these models (each is reproducible on its own)")
    sub.add_parser("make-eval", help="rebuild the held-out evaluation lists in models/spelling/eval (needs faker)")
    bench = sub.add_parser("bench", help="WikiSpell-style benchmark")
    bench.add_argument("--lang", action="append", choices=["en", "ru", "fa", "he"],
                       help="language(s); default all four")
    bench.add_argument("--words", nargs="+", action="extend", default=[], metavar="BUCKET=PATH",
                       help="WikiSpell TSV files (word<TAB>w o r d) per bucket, instead of the held-out lists; "
                            "several values and repeated flags add up")
    bench.add_argument("--systems", nargs="+", default=None,
                       help="gemma-3-270m smollm2-135m-instruct char-blind char-aware (default: all)")
    bench.add_argument("--limit", type=int, default=0, help="words per bucket (0: all test words)")
    bench.add_argument("--json", default=None)
    bench.add_argument("--chart", default=None)
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
        from models.spelling.evalsets import EVAL_DIR, build

        sets = build()
        print(f"{EVAL_DIR}: " + ", ".join(f"{lang} {sum(map(len, b.values()))}" for lang, b in sets.items()))
        return 0
    from models.spelling.bench import run_cli

    return asyncio.run(run_cli(args))


if __name__ == "__main__":
    sys.exit(main())
