"""GPU check: each embedded LLM in bf16, bitsandbytes int8 and bitsandbytes nf4 on CUDA — weight memory, tokens/s
on the leak workload through the engine, and Leak-Rate on the default leakage suite.

    python bench/gpu.py [--models gemma-3-270m,smollm2-135m-instruct] [--modes none,int8,nf4] [--prompts 64]
                        [--samples 8] [--tokens 32] [--suite-n 5] [--json bench/out/gpu.json]

`none` is bfloat16 on CUDA (models/loading.py). On a machine without CUDA it says so and exits 0 without
loading anything. One short run: about a minute per (model, mode) on a recent GPU."""
import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.engine import engine_run, prompts

SUITE = Path(__file__).resolve().parents[1] / "models" / "leakage" / "suites" / "default.jsonl"


async def one(model: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from models.config import ModelSettings, Quantization
    from models.hub import ModelHub
    from models.leakage.probes import read_suite
    from models.leakage.runner import run_suite

    settings = ModelSettings(model_device="cuda", model_quantization=cast(Quantization, mode), engine_max_batch=64,
                             engine_queue_size=max(64, args.prompts), engine_max_n=max(16, args.samples),
                             engine_request_timeout_s=3600)
    hub = ModelHub(settings)
    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    engine = await hub.text(model).ready()
    load_s = time.perf_counter() - started
    info = engine.info()
    tok_s, p50, p95 = await engine_run(engine, prompts(args.prompts), args.samples, args.tokens)
    embedder = await hub.embedder().ready()
    suite = await run_suite(engine, embedder, list(read_suite(SUITE).probes), suite_name=SUITE.name,
                            n=args.suite_n, seed=0)
    lo, hi = suite.ci95()
    await hub.close()
    return {"model": model, "quantization": mode, "weights_mb": info.get("memory_mb"), "load_s": round(load_s, 1),
            "engine_tok_s": round(tok_s, 1), "engine_p50_ms": round(p50), "engine_p95_ms": round(p95),
            "peak_cuda_mb": round(torch.cuda.max_memory_allocated() / 2**20),
            "leak_rate": round(suite.leak_rate, 2), "leak_rate_ci95": [round(lo, 2), round(hi, 2)],
            "suite_n": args.suite_n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="gemma-3-270m,smollm2-135m-instruct")
    parser.add_argument("--modes", default="none,int8,nf4", help="none = bfloat16 on CUDA")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--suite-n", type=int, default=5, help="samples per probe for the Leak-Rate (default 5)")
    parser.add_argument("--json", type=Path, default=Path("bench/out/gpu.json"))
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print(f"no CUDA device (torch {torch.__version__}, {platform.machine()}): nothing measured. "
              "Run this on a machine with an NVIDIA GPU and the CUDA build of torch.")
        return 0
    rows = []
    for model in args.models.split(","):
        for mode in args.modes.split(","):
            try:
                rows.append(asyncio.run(one(model, mode, args)))
            except Exception as error:  # noqa: BLE001 - one failing mode (e.g. bitsandbytes) must not hide the rest
                rows.append({"model": model, "quantization": mode, "error": f"{type(error).__name__}: {error}"[:300]})
            torch.cuda.empty_cache()
    device = torch.cuda.get_device_name(0)
    print(f"{device}, torch {torch.__version__}; leak workload {args.prompts} prompts × {args.samples} samples × "
          f"{args.tokens} tokens; Leak-Rate on {SUITE.name} with n={args.suite_n}")
    print(f"{'model':<24}{'mode':<6}{'weights MB':>11}{'tok/s':>9}{'Leak-Rate':>11}  95% CI")
    for row in rows:
        if "error" in row:
            print(f"{row['model']:<24}{row['quantization']:<6}  failed: {row['error']}")
            continue
        print(f"{row['model']:<24}{row['quantization']:<6}{row['weights_mb']:>11}{row['engine_tok_s']:>9}"
              f"{str(row['leak_rate']):>11}  {row['leak_rate_ci95']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"device": device, "torch": torch.__version__, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
