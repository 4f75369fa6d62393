"""Quality, speed and memory cost of int8-dynamic against float32 on CPU, both in one run, per model:

  (a) Leak-Rate on the default leakage suite with /leakbench's settings (n = LEAK_BENCH_SAMPLES, temperatures 0 and
      1, each language on its measured embedder, seed 0 for both modes) and its 95 % CI (cluster bootstrap over
      probes, `SuiteResult.ci95`);
  (b) few-shot spelling accuracy of the LLM on the shipped held-out lists (`models.spelling.bench.run_bench`,
      `--spell-limit` words per frequency bucket and language) with a 95 % Wilson interval;
  (c) weight memory (`LoadedModel.describe`) and engine tokens/s on a small fixed workload (bench/engine.py's).

    python bench/int8_quality.py --json bench/out/int8_quality.json [--models gemma-3-270m smollm2-135m-instruct]
                                 [--limit N] [--spell-limit 13] [--modes none int8-dynamic]

`--limit N` runs the first N probes of the suite only (the default is all of them).

`--recheck JSON` recomputes the comparisons of an earlier run's JSON (no model is loaded) and rewrites it.

The rule of "within_ci": int8-dynamic's estimate lies inside float32's 95 % CI (the issue's "must stay within the
CI" of the current default). The JSON also says whether float32's estimate lies inside int8's CI and whether the
two intervals overlap. Both modes see the same probes, seeds and words, so each check also has a paired test: for the
Leak-Rate a bootstrap CI over probes of the per-probe difference, for spelling McNemar's exact test on the words
only one mode spells right; "not_worse" says whether the candidate avoids a significant loss (for spelling, where
higher is better) or a significant change (for the Leak-Rate, which should stay where it is)."""
import argparse
import asyncio
import json
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.engine import engine_run, peak_rss_mb, prompts

MODES = ("none", "int8-dynamic")
TEMPERATURES = (0.0, 1.0)  # what /leakbench runs (services/leak.py `LeakService.bench`)


def leak_bench_samples() -> int:
    """/leakbench's samples per prompt and temperature, from the bot's settings (so the two cannot drift apart)."""
    from handlers.settings import Settings

    return int(Settings.model_fields["leak_bench_samples"].default)


def settings_for(mode: str) -> Any:
    from models.config import ModelSettings, Quantization

    return ModelSettings(model_device="cpu", model_quantization=cast(Quantization, mode), engine_max_batch=64,
                         engine_queue_size=512, engine_request_timeout_s=7200)


def wilson(correct: int, total: int) -> tuple[float, float]:
    """95 % Wilson score interval of an accuracy, in percent."""
    from scipy.stats import binomtest

    if total == 0:
        return float("nan"), float("nan")
    interval = binomtest(correct, total).proportion_ci(confidence_level=0.95, method="wilson")
    return 100 * float(interval.low), 100 * float(interval.high)


async def leak_check(hub: Any, engine: Any, limit: int, n: int) -> dict[str, Any]:
    from models.leakage.probes import load_suite
    from models.leakage.runner import run_suite

    probes = load_suite()[: limit or None]
    embedder = await hub.embedder().ready()
    suite = await run_suite(engine, embedder, probes, suite_name="default", n=n, temperatures=TEMPERATURES,
                            seed=0, measure="auto", embedders=hub)
    low, high = suite.ci95()
    return {"value": round(suite.leak_rate, 2), "ci95": [round(low, 2), round(high, 2)], "n_probes": len(probes),
            "n_samples": n, "temperatures": list(TEMPERATURES), "seconds": round(suite.seconds, 1),
            "probe_rates": [round(float(r), 2) for r in suite.probe_rates()]}


async def spelling_check(hub: Any, model: str, limit: int) -> dict[str, Any]:
    from models.spelling.bench import run_bench

    errors: list[dict[str, Any]] = []
    report = await run_bench(hub, systems=(model,), limit=limit, errors=errors)
    total = sum(row["n"] for row in report["results"])
    correct = total - len(errors)
    low, high = wilson(correct, total)
    by_language = {}
    for language in dict.fromkeys(row["language"] for row in report["results"]):
        words = sum(row["n"] for row in report["results"] if row["language"] == language)
        wrong = sum(1 for error in errors if error["language"] == language)
        by_language[language] = {"n": words, "accuracy": round(100 * (words - wrong) / words, 1)}
    return {"value": round(100 * correct / total, 2), "ci95": [round(low, 2), round(high, 2)], "n_words": total,
            "correct": correct, "by_language": by_language, "seconds": report["seconds"],
            "wrong": sorted((e["language"], e["word"], e["predicted"]) for e in errors)}


async def one_mode(model: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    from models.hub import ModelHub

    hub = ModelHub(settings_for(mode))
    try:
        started = time.perf_counter()
        engine = await hub.text(model).ready()
        load_s = time.perf_counter() - started
        info = engine.info()
        tok_s, p50, p95 = await engine_run(engine, prompts(args.prompts), args.samples, args.tokens)
        leak = await leak_check(hub, engine, args.limit, args.leak_n)
        spelling = await spelling_check(hub, model, args.spell_limit)
    finally:
        await hub.close()
    return {"quantization": info.get("quantization"), "weights_mb": info.get("memory_mb"), "load_s": round(load_s, 1),
            "engine_tok_s": round(tok_s, 1), "engine_p50_ms": round(p50), "engine_p95_ms": round(p95),
            "leak_rate": leak, "spelling": spelling}


def compare(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """`within_ci` (the rule): the other estimate inside the base's CI; the reverse and plain overlap alongside."""
    (base_low, base_high), (low, high) = base["ci95"], other["ci95"]
    return {"within_ci": bool(base_low <= other["value"] <= base_high),
            "base_inside_other_ci": bool(low <= base["value"] <= high),
            "ci_overlap": bool(low <= base_high and base_low <= high),
            "difference": round(other["value"] - base["value"], 2)}


def paired_leak(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Bootstrap CI (over probes, seeded) of the candidate's Leak-Rate minus the baseline's, same probes."""
    import numpy as np

    from models.leakage.stats import bootstrap_ci

    difference = (np.array(other["probe_rates"]) - np.array(base["probe_rates"])) / 100
    low, high = bootstrap_ci(difference)
    return {"difference_ci95": [round(low, 2), round(high, 2)], "not_worse": bool(low <= 0 <= high)}


def paired_spelling(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """McNemar's exact test: of the words only one mode spells right, is either side more than a coin flip?"""
    from scipy.stats import binomtest

    base_wrong = {(language, word) for language, word, _ in base["wrong"]}
    other_wrong = {(language, word) for language, word, _ in other["wrong"]}
    only_base, only_other = len(base_wrong - other_wrong), len(other_wrong - base_wrong)
    p = float(binomtest(only_base, only_base + only_other).pvalue) if only_base + only_other else 1.0
    return {"only_baseline_wrong": only_base, "only_candidate_wrong": only_other, "mcnemar_p": round(p, 4),
            "not_worse": bool(only_other <= only_base or p >= 0.05)}


def checks(modes: dict[str, dict[str, Any]], base: str, other: str) -> dict[str, Any]:
    leak = [modes[base]["leak_rate"], modes[other]["leak_rate"]]
    spelling = [modes[base]["spelling"], modes[other]["spelling"]]
    return {"leak_rate": {**compare(*leak), **paired_leak(*leak)},
            "spelling": {**compare(*spelling), **paired_spelling(*spelling)},
            "speedup": round(modes[other]["engine_tok_s"] / modes[base]["engine_tok_s"], 2),
            "weights_ratio": round(modes[other]["weights_mb"] / modes[base]["weights_mb"], 3)}


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [f"{'model':<24}{'mode':<14}{'weights MB':>11}{'tok/s':>8}{'Leak-Rate':>11}  {'95% CI':<17}"
             f"{'spelling %':>11}  95% CI"]
    for row in rows:
        for mode, values in row["modes"].items():
            leak, spell = values["leak_rate"], values["spelling"]
            lines.append(f"{row['model']:<24}{mode:<14}{values['weights_mb']:>11}{values['engine_tok_s']:>8}"
                         f"{leak['value']:>11}  {str(leak['ci95']):<17}{spell['value']:>11}  {spell['ci95']}")
        if "checks" in row:
            c = row["checks"]
            lines.append(f"{'':<24}within the baseline's CI: Leak-Rate {c['leak_rate']['within_ci']}, spelling "
                         f"{c['spelling']['within_ci']}; not worse (paired): Leak-Rate {c['leak_rate']['not_worse']}, "
                         f"spelling {c['spelling']['not_worse']}; speed ×{c['speedup']}, weights ×{c['weights_ratio']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["gemma-3-270m"])
    parser.add_argument("--modes", nargs=2, default=list(MODES), help="the baseline, then the candidate")
    parser.add_argument("--limit", type=int, default=0, help="first N probes of the suite (default: all)")
    parser.add_argument("--spell-limit", type=int, default=13, help="words per bucket and language (5 buckets)")
    parser.add_argument("--leak-n", type=int, default=0, help="samples per prompt (default: /leakbench's)")
    parser.add_argument("--prompts", type=int, default=8, help="engine workload: prompts")
    parser.add_argument("--samples", type=int, default=8, help="engine workload: samples per prompt")
    parser.add_argument("--tokens", type=int, default=32, help="engine workload: new tokens")
    parser.add_argument("--json", type=Path, default=Path("bench/out/int8_quality.json"))
    parser.add_argument("--recheck", type=Path, help="recompute the checks of this JSON and rewrite it")
    args = parser.parse_args(argv)
    if args.recheck:
        return recheck(args.recheck, args.modes)
    args.leak_n = args.leak_n or leak_bench_samples()

    import torch

    rows = []
    for model in args.models:
        modes = {mode: asyncio.run(one_mode(model, mode, args)) for mode in args.modes}
        rows.append({"model": model, "modes": modes, "checks": checks(modes, *args.modes)})
        write(args, rows, torch)  # after each model: a partial run still leaves its numbers
    print(table(rows))
    return 0


def recheck(path: Path, modes: Sequence[str]) -> int:
    report = json.loads(path.read_text())
    for row in report["rows"]:
        row["checks"] = checks(row["modes"], *modes)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(table(report["rows"]))
    return 0


def write(args: argparse.Namespace, rows: list[dict[str, Any]], torch: Any) -> None:
    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {"torch": torch.__version__, "torch_threads": torch.get_num_threads(), "machine": platform.machine(),
            "argv": sys.argv[1:], "peak_rss_mb": round(peak_rss_mb()),
            "rule": "within_ci: the candidate's estimate lies inside the baseline's 95 % CI"}
    args.json.write_text(json.dumps({**meta, "rows": rows}, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
