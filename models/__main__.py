"""`python -m models info` and `python -m models generate --model NAME "prompt"`."""
import argparse
import asyncio
import logging
import sys

from models.config import ModelSettings, SettingsError
from models.errors import ModelError
from models.hub import ModelHub
from models.loading import pick_device, pick_quantization
from models.registry import ModelSpec, all_specs


def _availability(spec: ModelSpec) -> tuple[str, str]:
    if spec.backend == "remote":
        return "remote", spec.source
    try:
        location = spec.locate()
    except ModelError as error:
        return "missing", str(getattr(error, "hint", error))
    return "available", str(location)


async def info(settings: ModelSettings, load: bool) -> int:
    device = pick_device(settings)
    print(f"device: {device} · cache: {settings.model_cache_dir}")
    # "runs": local (weights in this process) or remote (an OpenAI-compatible server; nothing loads here).
    rows = [("name", "kind", "runs", "style", "status", "quantization", "memory", "source")]
    hub = ModelHub(settings)
    for name, spec in all_specs(settings).items():
        status, where = _availability(spec)
        quantization = (pick_quantization(spec, settings, device)
                        if spec.kind == "causal-lm" and spec.backend != "remote" else "none")
        memory = "-"
        if load and status == "available":
            engine = hub.text(name) if spec.kind == "causal-lm" else hub.embedder(name)
            await engine.ready()
            described = engine.info()
            memory = f"{described.get('memory_mb', '?')} MB" if "memory_mb" in described else "loaded"
        runs = "remote" if spec.backend == "remote" else "local"
        rows.append((name, spec.kind, runs, spec.prompt_style, status, quantization, memory, where))
    await hub.close()
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1])
    if not load:
        print("(memory: add --load to load each model and measure its footprint)")
    return 0 if all(row[4] != "missing" for row in rows[1:]) else 1


async def generate(settings: ModelSettings, args: argparse.Namespace) -> int:
    hub = ModelHub(settings)
    try:
        engine = await hub.text(args.model).ready()
        prompt = engine.format_prompt(args.prompt) if args.chat else args.prompt
        outputs = await engine.generate([prompt], n=args.n, temperature=args.temperature, top_p=args.top_p,
                                        max_new_tokens=args.max_new_tokens, stop=args.stop or None, seed=args.seed)
        for index, text in enumerate(outputs[0], 1):
            print(f"[{index}] {args.prompt}{text}" if not args.chat else f"[{index}] {text}")
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        await hub.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    info_parser = sub.add_parser("info", help="models, availability, device, quantization, memory")
    info_parser.add_argument("--load", action="store_true", help="load each model to measure its memory")
    gen = sub.add_parser("generate", help="print continuations of a prompt")
    gen.add_argument("prompt")
    gen.add_argument("--model", default=None, help="registry name (default: DEFAULT_TEXT_MODEL)")
    gen.add_argument("-n", type=int, default=1)
    gen.add_argument("--temperature", type=float, default=0.0)
    gen.add_argument("--top-p", type=float, default=1.0)
    gen.add_argument("--max-new-tokens", type=int, default=32)
    gen.add_argument("--stop", action="append", default=[])
    gen.add_argument("--seed", type=int, default=None)
    gen.add_argument("--chat", action="store_true", help="wrap the prompt in the model's chat template")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        settings = ModelSettings.load()  # this CLI's settings, built once (reads .env)
        if args.command == "info":
            return asyncio.run(info(settings, args.load))
        return asyncio.run(generate(settings, args))
    except ModelError as error:  # unknown model, missing package, no CUDA for MODEL_DEVICE=cuda: one clear line
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
