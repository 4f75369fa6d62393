"""`python -m models.imagegen generate --provider P "prompt" --out FILE` and
`python -m models.imagegen test --suite NAME --provider P [--subject S] [--seed N] [--json OUT]`."""
import argparse
import asyncio
import json
import sys
from pathlib import Path

from models.imagegen import ocr
from models.imagegen.config import ImageGenSettings
from models.imagegen.errors import ImageGenError
from models.imagegen.providers import Providers
from models.imagegen.runner import mean_score, run_suite
from models.imagegen.suites import SUITES


async def main_async(args: argparse.Namespace, settings: ImageGenSettings) -> int:
    providers = Providers(settings)
    try:
        provider = providers.get(args.provider)
        if args.command == "generate":
            image = await provider.generate(args.prompt, seed=args.seed if args.seed is not None else 0,
                                            model=args.model)
            await asyncio.to_thread(Path(args.out).write_bytes, image.data)
            print(f"{args.out}: {len(image.data)} bytes · {image.provider} {image.model} seed {image.seed} · "
                  f"{image.seconds:.1f} s")
            return 0
        seed, results = await run_suite(provider, args.suite, args.subject, seed=args.seed, model=args.model)
        model = next((r.image.model for r in results if r.image), provider.model_id(args.model or
                                                                                   providers.settings.imagegen_model))
        report = {"suite": args.suite, "provider": provider.name, "model": model, "seed": seed,
                  "ocr": ocr.available(), "items": [r.to_json() for r in results], "mean_score": mean_score(results)}
        print(f"suite {args.suite} · {provider.name} {model} · seed {seed}")
        for r in results:
            score = "-" if r.score is None else f"{r.score:.2f}"
            read = "" if r.ocr_text is None else f"  OCR: {r.ocr_text!r}"
            print(f"  {r.status:<8} {score:>5}  {r.item.prompt}{read}")
        print(f"mean score: {report['mean_score']}")
        if args.json:
            await asyncio.to_thread(_write_json, Path(args.json), report)
        return 0
    except ImageGenError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        await providers.close()


def _write_json(path: Path, report: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.imagegen", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="one image")
    gen.add_argument("prompt")
    gen.add_argument("--out", required=True)
    test = sub.add_parser("test", help="a prompt-test suite")
    test.add_argument("--suite", required=True, choices=sorted(SUITES))
    test.add_argument("--subject", default=None)
    test.add_argument("--json", default=None)
    for p in (gen, test):
        p.add_argument("--provider", default=None, choices=["replicate", "fal"])
        p.add_argument("--model", default=None, help="schnell or dev (or a full model id)")
        p.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args, ImageGenSettings.load()))  # this CLI's settings, built once (reads .env)


if __name__ == "__main__":
    sys.exit(main())
