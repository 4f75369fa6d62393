"""Engine benchmark: one sampling workload through (1) naive sequential `model.generate`, (2) the batching engine,
(3) llama.cpp single-stream on the same GGUF when llama-cpp-python is installed.

    python bench/engine.py [--model gemma-3-270m] [--prompts 64] [--samples 8] [--tokens 32] [--json OUT]

Naive sequential runs one (prompt, sample) at a time with HF `generate`; it is timed on the first
`--naive-requests` requests only (its tokens/s do not depend on how many there are) so the run stays short."""
import argparse
import asyncio
import importlib.util
import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.config import ModelSettings  # noqa: E402
from models.hub import ModelHub  # noqa: E402
from models.loading import converted_dir  # noqa: E402
from models.registry import resolve  # noqa: E402

TOPICS = ["He likes yellow. He works as a", "The weather in Paris today is", "My favourite animal is the",
          "Москва — это город, где", "The recipe starts with", "In 2024 the conference on machine learning",
          "She plays the violin and", "The best way to learn Python is"]


def prompts(count: int) -> list[str]:
    return [f"{TOPICS[i % len(TOPICS)]}" + (" " + "really " * (i // len(TOPICS)) if i >= len(TOPICS) else "")
            for i in range(count)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def naive(engine, workload: list[str], samples: int, tokens: int, limit: int) -> tuple[float, int]:
    import torch

    model, tokenizer = engine.loaded.model, engine.loaded.tokenizer
    generated, started = 0, time.perf_counter()
    done = 0
    for prompt in workload:
        for sample in range(samples):
            if done >= limit:
                break
            ids = tokenizer(prompt, return_tensors="pt").to(model.device)  # the GPU, when the model is there
            torch.manual_seed(sample)
            out = model.generate(**ids, do_sample=True, temperature=1.0, top_p=1.0, max_new_tokens=tokens,
                                 min_new_tokens=tokens, pad_token_id=tokenizer.pad_token_id)
            generated += out.shape[1] - ids["input_ids"].shape[1]
            done += 1
    return generated / (time.perf_counter() - started), done


async def engine_run(engine, workload: list[str], samples: int, tokens: int):
    latencies: list[float] = []
    tokenizer = engine.loaded.tokenizer

    async def one(prompt: str, index: int):
        started = time.perf_counter()
        result = await engine.generate([prompt], n=samples, temperature=1.0, top_p=1.0, max_new_tokens=tokens,
                                       seed=index)
        latencies.append((time.perf_counter() - started) * 1000)
        return sum(len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in result[0])

    started = time.perf_counter()
    counts = await asyncio.gather(*(one(prompt, i) for i, prompt in enumerate(workload)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return sum(counts) / elapsed, statistics.median(latencies), latencies[int(0.95 * (len(latencies) - 1))]


def llamacpp(spec, workload, samples, tokens, limit) -> tuple[float | None, str]:
    """llama.cpp single stream in a child process: a crash inside llama.cpp (it happens: native code) costs the
    reference number, not the whole benchmark. Returns (tokens/s or None, why it is None)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return None, "llama-cpp-python not installed"
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            return pool.submit(_llamacpp_run, str(spec.locate()), workload, samples, tokens, limit).result(), ""
        except BrokenProcessPool:
            return None, "llama.cpp crashed on this model/machine"
        except Exception as error:  # noqa: BLE001 - reported, not fatal
            return None, f"llama.cpp failed: {type(error).__name__}: {error}"[:200]


def _llamacpp_run(model_path: str, workload, samples, tokens, limit) -> float:
    from llama_cpp import Llama

    llm = Llama(model_path=model_path, n_ctx=512, verbose=False)
    generated, started, done = 0, time.perf_counter(), 0
    for prompt in workload:
        for sample in range(samples):
            if done >= limit:
                break
            out = llm(prompt, max_tokens=tokens, temperature=1.0, seed=sample)
            generated += out["usage"]["completion_tokens"]
            done += 1
    return generated / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="gemma-3-270m")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--naive-requests", type=int, default=16)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    settings = ModelSettings(engine_max_batch=args.max_batch, engine_queue_size=max(64, args.prompts),
                             engine_max_n=max(16, args.samples), engine_request_timeout_s=3600)
    spec = resolve(args.model, settings)
    converted_dir(spec, settings) if spec.backend == "gguf" else None
    workload = prompts(args.prompts)

    async def run():
        hub = ModelHub(settings)
        engine = await hub.text(args.model).ready()
        naive_tok_s, naive_done = await asyncio.to_thread(naive, engine, workload, args.samples, args.tokens,
                                                          args.naive_requests)
        engine_tok_s, p50, p95 = await engine_run(engine, workload, args.samples, args.tokens)
        await hub.close()
        return naive_tok_s, naive_done, engine_tok_s, p50, p95

    naive_tok_s, naive_done, engine_tok_s, p50, p95 = asyncio.run(run())
    llama_tok_s, llama_note = llamacpp(spec, workload, args.samples, args.tokens, args.naive_requests)
    result = {
        "model": args.model,
        "workload": {"prompts": args.prompts, "samples": args.samples, "new_tokens": args.tokens,
                     "temperature": 1.0, "naive_requests_timed": naive_done, "max_batch": args.max_batch},
        "naive_tok_s": round(naive_tok_s, 1), "engine_tok_s": round(engine_tok_s, 1),
        "llamacpp_tok_s": round(llama_tok_s, 1) if llama_tok_s else None, "llamacpp_note": llama_note,
        "engine_p50_ms": round(p50), "engine_p95_ms": round(p95), "peak_rss_mb": round(peak_rss_mb()),
        "engine_vs_naive": round(engine_tok_s / naive_tok_s, 2),
        "engine_vs_llamacpp": round(engine_tok_s / llama_tok_s, 2) if llama_tok_s else None,
    }
    print(f"{args.model}: {args.prompts} prompts × {args.samples} samples × {args.tokens} new tokens, T=1")
    print(f"{'system':<34}{'tokens/s':>10}")
    print(f"{'(1) naive sequential HF generate':<34}{result['naive_tok_s']:>10}")
    print(f"{'(2) batching engine':<34}{result['engine_tok_s']:>10}   p50 {result['engine_p50_ms']} ms, "
          f"p95 {result['engine_p95_ms']} ms")
    print(f"{'(3) llama.cpp single stream':<34}{str(result['llamacpp_tok_s']):>10}"
          + (f"   ({llama_note})" if llama_tok_s is None else ""))
    print(f"engine / naive: {result['engine_vs_naive']}×   engine / llama.cpp: {result['engine_vs_llamacpp']}   "
          f"peak RSS {result['peak_rss_mb']} MB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
