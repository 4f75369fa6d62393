"""Responsiveness under engine load: `/help` and `/history` latency through the bot's real dispatcher, with and
without the text engine saturating the CPU in the same process, for several torch thread counts.

    python bench/responsiveness.py [--model gemma-3-270m] [--threads 1,2] [--n 300] [--json OUT]

For each thread count: (idle) N /help + /history updates fed one at a time through `bot.app.create_dispatcher`
(database session, i18n, quota, every router) over a migrated SQLite file; (busy) the same while a load task keeps
the engine's running batch full (requests of n = 8 samples × 32 new tokens at T = 1, as a /leakbench does).
Prints p50 / p99 per command and the engine's tokens/s under the measurement; the target is /help p99 < 100 ms
while busy. Update feeding and result summaries come from bench/updates.py."""
import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.updates import BOT_USER, feed_all, summary, synthetic_updates
from bot.app import create_bot, create_dispatcher
from bot.config import AppSettings
from bot.transports.offline import RecordingSession
from models.config import ModelSettings
from models.engine import LocalTextEngine
from models.registry import resolve
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade

LOAD_PROMPTS = ["He likes yellow. He works as a", "The weather in Paris today is", "My favourite animal is the",
                "Москва — это город, где"]


def command_updates(command: str, n: int, seed: int, first_id: int) -> list[Any]:
    return [update.model_copy(update={"message": update.message.model_copy(update={"text": command})})
            for update in synthetic_updates(n, 50, seed, first_id=first_id) if update.message is not None]


async def measure(dp: Any, bot: Any, n: int, first_id: int) -> dict[str, Any]:
    out = {}
    for offset, command in enumerate(("/help", "/history")):
        updates = command_updates(command, n, seed=offset, first_id=first_id + offset * n)
        elapsed, latencies = await feed_all(dp, bot, updates)
        out[command] = summary(command, n, elapsed, latencies)
    return out


async def saturate(engine: LocalTextEngine, stop: asyncio.Event, counter: list[int]) -> None:
    """Keep `workers` requests in flight so the running batch never empties."""
    tokenizer = engine.tokenizer

    async def worker(index: int) -> None:
        seed = index
        while not stop.is_set():
            prompt = LOAD_PROMPTS[seed % len(LOAD_PROMPTS)]
            [texts] = await engine.generate([prompt], n=8, temperature=1.0, max_new_tokens=32, seed=seed)
            counter[0] += sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
            seed += 100

    await asyncio.gather(*(worker(i) for i in range(4)))


async def run(model: str, thread_counts: list[int], n: int) -> dict[str, Any]:
    import torch

    results: dict[str, Any] = {"model": model, "n": n, "cpus": os.cpu_count(), "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-resp-") as tmp:
        settings = AppSettings.load(env_file=None,
                                    database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}",
                                    bot_username=BOT_USER.username, console_output_dir=Path(tmp) / "out")
        db = create_engine(settings.bot.database_url)
        await upgrade(db)
        bot = create_bot(settings.bot, session=RecordingSession(BOT_USER))
        dp = create_dispatcher(settings, create_sessionmaker(db))
        await feed_all(dp, bot, synthetic_updates(100, 50, 99, first_id=9_000_000))  # warm-up
        model_settings = ModelSettings(engine_max_batch=32, engine_request_timeout_s=3600)
        engine = await LocalTextEngine(resolve(model, model_settings), model_settings).ready()
        first_id = 1
        for threads in thread_counts:
            torch.set_num_threads(threads)  # process-wide: the engine's worker uses the same intra-op pool
            idle = await measure(dp, bot, n, first_id)
            first_id += 10 * n
            stop, counter = asyncio.Event(), [0]
            load = asyncio.create_task(saturate(engine, stop, counter))
            await asyncio.sleep(3.0)  # let the batch fill
            tokens_before, started = engine.batch.tokens_generated, time.perf_counter()
            busy = await measure(dp, bot, n, first_id)
            first_id += 10 * n
            tok_s = (engine.batch.tokens_generated - tokens_before) / (time.perf_counter() - started)
            stop.set()
            await load
            results["runs"].append({"torch_threads": threads, "idle": idle, "busy": busy,
                                    "engine_tok_s_during": round(tok_s, 1),
                                    "peak_rows": engine.queue.peak_rows})
        await engine.close()
        await db.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="gemma-3-270m")
    parser.add_argument("--threads", default="1,2", help="torch thread counts to compare (default 1,2)")
    parser.add_argument("--n", type=int, default=300, help="updates per command and condition (default 300)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.model, [int(t) for t in args.threads.split(",")], args.n))
    print(f"{args.model}: /help and /history through the full dispatcher, {args.n} each, sequential; "
          f"{report['cpus']} CPUs")
    print(f"{'threads':>7} {'condition':<6} {'/help p50':>10} {'/help p99':>10} {'/history p50':>13} "
          f"{'/history p99':>13} {'engine tok/s':>13}")
    for run_ in report["runs"]:
        for condition in ("idle", "busy"):
            row = run_[condition]
            tok = str(run_["engine_tok_s_during"]) if condition == "busy" else "-"
            print(f"{run_['torch_threads']:>7} {condition:<6} {row['/help']['p50_ms']:>10.1f} "
                  f"{row['/help']['p99_ms']:>10.1f} {row['/history']['p50_ms']:>13.1f} "
                  f"{row['/history']['p99_ms']:>13.1f} {tok:>13}")
    best = [r for r in report["runs"] if r["busy"]["/help"]["p99_ms"] < 100]
    report["target_help_p99_ms"] = 100
    report["meets_target_threads"] = [r["torch_threads"] for r in best]
    print("threads meeting /help p99 < 100 ms while busy:", report["meets_target_threads"] or "none")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
