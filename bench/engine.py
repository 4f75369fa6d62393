"""Engine benchmark: one sampling workload (the leak workload: every prompt × `--samples` samples at T = 1)
through (1) naive sequential `model.generate`, (2) the engine (continuous batching, shared prefill), (2b) the engine
with prefix sharing switched off (what one prefill per prompt saves), (3) llama.cpp on the same GGUF with the
engine's thread count, single stream, and (3b) llama.cpp's own batching (several sequences in one `llama_batch`
through the binding's low-level API), when llama-cpp-python is installed; plus (4) a default /leak probe
(both prompts, `--leak-n` samples, 20 new tokens, stop at a newline, embeddings included).

    python bench/engine.py [--model gemma-3-270m] [--quantization auto] [--prompts 64] [--samples 8]
                           [--tokens 32] [--json OUT]

Naive sequential and llama.cpp single stream run one (prompt, sample) at a time; they are timed on the first
`--naive-requests` requests only (their tokens/s do not depend on how many there are) so the run stays short.
llama-cpp-python is an optional extra, never installed by this script: `pip install llama-cpp-python==0.3.36`
(it compiles llama.cpp; see docs/models.md for the build that runs)."""
import argparse
import asyncio
import importlib.util
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.config import ModelSettings
from models.engine import LocalTextEngine
from models.hub import ModelHub
from models.loading import converted_dir
from models.registry import resolve

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


async def leak_default(hub, model: str, n: int) -> float:
    """Seconds for one /leak as the handler runs it (both prompts, n samples at T = 1, 20 new tokens, stop at a
    newline, then the embeddings), on a warm engine."""
    from models.leakage.probes import LeakProbe
    from models.leakage.runner import run_probe

    engine = await hub.text(model).ready()
    embedder = await hub.embedder().ready()
    probe = LeakProbe(id="bench-yellow", category="colours", language="en", concept="yellow",
                      control="He works as a", test="He likes yellow. He works as a")
    started = time.perf_counter()
    await run_probe(engine, embedder, probe, n=n, temperatures=(1.0,), seed=1, max_new_tokens=20)
    return time.perf_counter() - started


def llamacpp_info() -> tuple[str | None, str]:
    """(version, note): None and why when llama-cpp-python is not importable."""
    if importlib.util.find_spec("llama_cpp") is None:
        return None, ("llama-cpp-python not installed (optional: pip install llama-cpp-python==0.3.36, "
                      "built from source)")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama-cpp-python"), ""
    except PackageNotFoundError:  # importable from a build tree (PYTHONPATH + LLAMA_CPP_LIB_PATH), no metadata
        import llama_cpp

        return str(getattr(llama_cpp, "__version__", "unknown")), ""


def llamacpp(spec, workload, samples, tokens, limit, threads: int) -> dict:
    """llama.cpp in a child process that imports nothing but llama_cpp: a crash inside llama.cpp costs the reference
    numbers, not the whole benchmark. Single stream (one sequence at a time through `Llama.__call__`) and batched
    (all samples of a prompt as parallel sequences of one `llama_batch`)."""
    version, note = llamacpp_info()
    out: dict[str, Any] = {"llamacpp_version": version, "llamacpp_threads": threads, "llamacpp_tok_s": None,
           "llamacpp_batched_tok_s": None, "llamacpp_note": note}
    if version is None:
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    notes = []
    for key, job in (("llamacpp_tok_s", _llamacpp_single), ("llamacpp_batched_tok_s", _llamacpp_batched)):
        # A fresh interpreter per run, started from this file's directory-free helper module: the spawned child
        # must not import torch (two OpenMP runtimes in one process; see docs/models.md).
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            try:
                out[key] = round(pool.submit(job, str(spec.locate()), workload, samples, tokens, limit,
                                             threads).result(), 1)
            except BrokenProcessPool:
                notes.append(f"{key}: llama.cpp crashed{amx_hint()}")
            except Exception as error:  # noqa: BLE001 - reported, not fatal
                notes.append(f"{key}: {type(error).__name__}: {error}"[:200])
    out["llamacpp_note"] = "; ".join(notes)
    return out


# Why llama.cpp crashed in this project's runs: a build with GGML_NATIVE=ON on a CPU that advertises AMX compiles
# ggml's AMX kernels, and on virtual machines that advertise AMX without supporting its tile state (seen here, a
# Firecracker guest on a Sapphire Rapids host) the first `ldtilecfg` raises a general-protection fault: SIGSEGV in
# libggml-cpu.so (ggml_backend_amx_mul_mat). Whether a run crashed depended on the host the machine landed on.
AMX_FREE_BUILD = ('CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON '
                  '-DGGML_BMI2=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON '
                  '-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" '
                  'pip install --force-reinstall --no-deps --no-cache-dir llama-cpp-python==0.3.36')


def amx_hint() -> str:
    """When the installed libggml-cpu carries the AMX kernels, the likely cause of a crash and the build that runs."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        return ""
    for library in sorted((Path(spec.origin).parent / "lib").glob("libggml-cpu*.so*")):
        if b"ggml_backend_amx_mul_mat" in library.read_bytes():
            return (f" (its {library.name} has AMX kernels, which fault on machines that advertise AMX without "
                    f"supporting it; rebuild without them: {AMX_FREE_BUILD})")
    return ""


def _llamacpp_single(model_path: str, workload, samples, tokens, limit, threads) -> float:
    from llama_cpp import Llama

    llm = Llama(model_path=model_path, n_ctx=512, n_threads=threads, n_threads_batch=threads, verbose=False)
    generated, started, done = 0, time.perf_counter(), 0
    for prompt in workload:
        for sample in range(samples):
            if done >= limit:
                break
            out: Any = llm(prompt, max_tokens=tokens, temperature=1.0, top_p=1.0, seed=sample)
            generated += out["usage"]["completion_tokens"]
            done += 1
    return generated / (time.perf_counter() - started)


def _llamacpp_batched(model_path: str, workload, samples, tokens, limit, threads) -> float:
    """llama.cpp's parallel decoding (its `batched` example): the prompt's tokens carry every sample's sequence id,
    so the prompt is evaluated once; then each step decodes one token of every live sequence in one batch.
    Sampling (T = 1, full vocabulary) in numpy. Timed on the first `limit` (prompt, sample) pairs, whole prompts."""

    import llama_cpp
    import numpy as np
    from llama_cpp import Llama

    llm = Llama(model_path=model_path, n_ctx=512, n_threads=threads, n_threads_batch=threads, verbose=False)
    # `Llama` makes a one-sequence context; parallel sequences need their own (n_seq_max, one unified KV cache).
    params = llama_cpp.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_seq_max = samples * 256, 512, samples
    params.n_threads = params.n_threads_batch = threads
    params.kv_unified = True
    ctx = llama_cpp.llama_init_from_model(llm._model.model, params)
    if not ctx:
        raise RuntimeError("llama_init_from_model failed")
    n_vocab, eos = llm.n_vocab(), llm.token_eos()
    rng = np.random.default_rng(0)
    batch = llama_cpp.llama_batch_init(512, 0, samples)
    memory = llama_cpp.llama_get_memory(ctx)

    def add(index: int, token: int, pos: int, seqs: list[int], logits: bool) -> None:
        batch.token[index] = token
        batch.pos[index] = pos
        batch.n_seq_id[index] = len(seqs)
        for j, seq in enumerate(seqs):
            batch.seq_id[index][j] = seq
        batch.logits[index] = logits

    generated, started, done = 0, time.perf_counter(), 0
    try:
        for prompt in workload:
            if done >= limit:
                break
            llama_cpp.llama_memory_clear(memory, True)
            ids = llm.tokenize(prompt.encode(), add_bos=True)
            for i, token in enumerate(ids):
                add(i, token, i, list(range(samples)), i == len(ids) - 1)
            batch.n_tokens = len(ids)
            if llama_cpp.llama_decode(ctx, batch) != 0:
                raise RuntimeError("llama_decode failed on the prompt")
            rows = {seq: len(ids) - 1 for seq in range(samples)}  # sequence -> index of its logits in the batch
            pos = len(ids)
            for _step in range(tokens):
                if not rows:
                    break
                logits = np.stack([np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, index),
                                                         shape=(n_vocab,)) for index in rows.values()])
                probs = np.exp(logits - logits.max(axis=1, keepdims=True))
                cdf = np.cumsum(probs, axis=1)
                picks = [int(np.searchsorted(cdf[r], rng.random() * cdf[r, -1], side="right"))
                         for r in range(len(rows))]
                batch.n_tokens = 0
                next_rows = {}
                for (seq, _), token in zip(rows.items(), picks, strict=True):
                    if token == eos:
                        continue
                    generated += 1
                    add(batch.n_tokens, token, pos, [seq], True)
                    next_rows[seq] = batch.n_tokens
                    batch.n_tokens += 1
                pos += 1
                rows = next_rows
                if rows and llama_cpp.llama_decode(ctx, batch) != 0:
                    raise RuntimeError("llama_decode failed")
            done += samples
    finally:
        llama_cpp.llama_batch_free(batch)
        llama_cpp.llama_free(ctx)
    return generated / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="gemma-3-270m")
    parser.add_argument("--quantization", default="auto", help="MODEL_QUANTIZATION for the engine (default auto)")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--naive-requests", type=int, default=16)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--leak-n", type=int, default=5, help="samples per prompt of the default /leak (default 5)")
    parser.add_argument("--no-sharing-run", action="store_true", help="skip (2b), the engine without prefix sharing")
    parser.add_argument("--no-naive", action="store_true", help="skip (1)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    settings = ModelSettings(engine_max_batch=args.max_batch, engine_queue_size=max(64, args.prompts),
                             engine_max_n=max(16, args.samples), engine_request_timeout_s=3600,
                             model_quantization=args.quantization)
    spec = resolve(args.model, settings)
    converted_dir(spec, settings) if spec.backend == "gguf" else None
    workload = prompts(args.prompts)

    async def run():
        import torch

        hub = ModelHub(settings)
        engine = await hub.text(args.model).ready()
        assert isinstance(engine, LocalTextEngine), "the engine bench measures the local engine"
        threads = torch.get_num_threads()
        naive_tok_s, naive_done = (None, 0) if args.no_naive else await asyncio.to_thread(
            naive, engine, workload, args.samples, args.tokens, args.naive_requests)
        prefill_before = engine.batch.prefill_tokens
        engine_tok_s, p50, p95 = await engine_run(engine, workload, args.samples, args.tokens)
        prefill_tokens = engine.batch.prefill_tokens - prefill_before
        noshare = None
        if not args.no_sharing_run:
            engine.batch.share_prefixes = False
            noshare = (await engine_run(engine, workload, args.samples, args.tokens))[0]
            engine.batch.share_prefixes = True
        leak_s = await leak_default(hub, args.model, args.leak_n)
        info = engine.info()
        await hub.close()
        return (naive_tok_s, naive_done, engine_tok_s, p50, p95, noshare, prefill_tokens, leak_s, threads, info)

    (naive_tok_s, naive_done, engine_tok_s, p50, p95, noshare, prefill_tokens, leak_s, threads,
     info) = asyncio.run(run())
    llama = llamacpp(spec, workload, args.samples, args.tokens, args.naive_requests, threads)
    llama_tok_s = llama["llamacpp_tok_s"]
    result = {
        "model": args.model,
        "workload": {"prompts": args.prompts, "samples": args.samples, "new_tokens": args.tokens,
                     "temperature": 1.0, "naive_requests_timed": naive_done, "max_batch": args.max_batch},
        "naive_tok_s": round(naive_tok_s, 1) if naive_tok_s else None, "engine_tok_s": round(engine_tok_s, 1),
        **llama,
        "engine_p50_ms": round(p50), "engine_p95_ms": round(p95), "peak_rss_mb": round(peak_rss_mb()),
        "engine_vs_naive": round(engine_tok_s / naive_tok_s, 2) if naive_tok_s else None,
        "engine_vs_llamacpp": round(engine_tok_s / llama_tok_s, 2) if llama_tok_s else None,
        "engine_threads": threads, "quantization": info.get("quantization"), "weights_mb": info.get("memory_mb"),
        "engine_no_sharing_tok_s": round(noshare, 1) if noshare else None,
        "prefill_tokens_shared": prefill_tokens,
        "leak_default_s": round(leak_s, 2), "leak_default_n": args.leak_n,
    }
    print(f"{args.model} ({result['quantization']}, {threads} torch threads): {args.prompts} prompts × "
          f"{args.samples} samples × {args.tokens} new tokens, T=1")
    print(f"{'system':<44}{'tokens/s':>10}")
    print(f"{'(1) naive sequential HF generate':<44}{str(result['naive_tok_s']):>10}")
    print(f"{'(2) engine (continuous batching)':<44}{result['engine_tok_s']:>10}   p50 {result['engine_p50_ms']} ms, "
          f"p95 {result['engine_p95_ms']} ms")
    print(f"{'(2b) engine without prefix sharing':<44}{str(result['engine_no_sharing_tok_s']):>10}")
    lc = f"llama.cpp {llama['llamacpp_version']}, {threads} threads"
    print(f"{'(3) ' + lc + ', single stream':<44}{str(llama_tok_s):>10}")
    print(f"{'(3b) ' + lc + ', batched':<44}{str(llama['llamacpp_batched_tok_s']):>10}")
    if llama["llamacpp_note"]:
        print(f"    llama.cpp: {llama['llamacpp_note']}")
    print(f"engine / naive: {result['engine_vs_naive']}×   engine / llama.cpp single stream: "
          f"{result['engine_vs_llamacpp']}×   peak RSS {result['peak_rss_mb']} MB, weights {result['weights_mb']} MB")
    print(f"default /leak (both prompts, n={args.leak_n}, warm): {result['leak_default_s']} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
