"""`python -m models.spelling train` and `python -m models.spelling bench [...]`."""
import argparse
import asyncio
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.spelling", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train char-aware and char-blind (CPU, minutes) into models/spelling/weights")
    train.add_argument("--epochs", type=int, default=12)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--train-size", type=int, default=6000, help="training words per language")
    train.add_argument("--only", nargs="+", choices=["char-aware", "char-blind"], default=["char-aware", "char-blind"],
                       help="train only these models (each is reproducible on its own)")
    bench = sub.add_parser("bench", help="WikiSpell-style benchmark")
    bench.add_argument("--lang", action="append", choices=["en", "ru", "fa", "he"],
                       help="language(s); default all four")
    bench.add_argument("--words", nargs="+", default=[], metavar="BUCKET=PATH",
                       help="WikiSpell TSV files (word<TAB>w o r d) per bucket, instead of the built-in lists")
    bench.add_argument("--systems", nargs="+", default=None,
                       help="gemma-3-270m smollm2-135m-instruct char-blind char-aware (default: all)")
    bench.add_argument("--limit", type=int, default=0, help="words per bucket (0: all test words)")
    bench.add_argument("--json", default=None)
    bench.add_argument("--chart", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.command == "train":
        from models.spelling.train import train_all

        seconds = train_all(epochs=args.epochs, seed=args.seed, train_size=args.train_size,
                            systems=tuple(args.only))
        print(" ".join(f"{name}: {value:.0f} s" for name, value in seconds.items()))
        return 0
    from models.spelling.bench import run_cli

    return asyncio.run(run_cli(args))


if __name__ == "__main__":
    sys.exit(main())
