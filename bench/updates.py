"""Update throughput: the bare aiogram Dispatcher against the bot's full stack, same process, same Bot.

    python bench/updates.py [--n 5000] [--users 200] [--concurrency 1] [--json OUT] [--profile OUT.prof]

N synthetic private-chat updates from about 200 users (a seeded mix of /help, /history and plain text) are fed
one at a time (or --concurrency at a time) through
  (a) a bare aiogram Dispatcher with one trivial handler (answers "ok"), and
  (b) the full stack: bot.app.create_dispatcher (database session per update, user/chat upsert, i18n, quota,
      every router) over a freshly migrated SQLite file in a temporary directory,
both talking to one RecordingSession Bot (bot/transports/offline.py), so no network is involved and the difference
is the stack itself. Prints updates/s, the ratio (b)/(a) and p50/p99 latency; --json writes the same numbers.
The target is (b) ≥ 70% of (a)."""
import argparse
import asyncio
import cProfile
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# The project root is importable from anywhere through the editable install (scripts/setup.sh).
from aiogram import Bot, Dispatcher
from aiogram.types import Chat, Message, Update, User

from bot.app import create_bot, create_dispatcher
from bot.config import AppSettings
from bot.transports.offline import RecordingSession
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade
from storage.repo.core import count_requests, count_users

BOT_USER = User(id=42, is_bot=True, first_name="Paper demo bot", username="paper_demo_bot")
MIX = [("/help", 0.4), ("/history", 0.3), ("plain text about a paper, arXiv:2408.06518", 0.3)]
LANGUAGES = ["en", "ru", "fa", "he", "en-US", None]


def synthetic_updates(n: int, users: int, seed: int, first_id: int = 1, first_user: int = 100_000) -> list[Update]:
    rng = random.Random(seed)
    texts, weights = zip(*MIX, strict=True)
    people = [User(id=first_user + index, is_bot=False, first_name=f"User {index}", username=f"user{index}",
                   language_code=rng.choice(LANGUAGES)) for index in range(users)]
    updates = []
    for offset in range(n):
        person = rng.choice(people)
        chat = Chat(id=person.id, type="private", first_name=person.first_name)
        message = Message(message_id=first_id + offset, date=datetime.now(UTC), chat=chat, from_user=person,
                          text=rng.choices(texts, weights)[0])
        updates.append(Update(update_id=first_id + offset, message=message))
    return updates


def bare_dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message()
    async def trivial(message: Message) -> None:
        await message.answer("ok")

    return dp


async def feed_all(dp: Dispatcher, bot: Bot, updates: list[Update], concurrency: int = 1) -> tuple[float, list[float]]:
    """Feed every update; with concurrency > 1, that many at a time (as the webhook transport does)."""
    latencies = []
    queue = iter(updates)

    async def worker() -> None:
        for update in queue:
            before = time.perf_counter()
            await dp.feed_update(bot, update)
            latencies.append(time.perf_counter() - before)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


def summary(name: str, n: int, elapsed: float, latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {"stack": name, "updates": n, "seconds": round(elapsed, 3), "updates_per_s": round(n / elapsed, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 3),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3)}


async def run(n: int, users: int, seed: int, warmup: int, profile: Path | None, concurrency: int = 1) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-updates-") as tmp:
        # Defaults and explicit values only: a benchmark measures the code, not a developer's `.env`.
        settings = AppSettings.load(env_file=None,
                                    database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}",
                                    bot_username=BOT_USER.username, console_output_dir=Path(tmp) / "out")
        engine = create_engine(settings.bot.database_url)
        await upgrade(engine)
        session = RecordingSession(BOT_USER)
        bot = create_bot(settings.bot, session=session)  # one Bot, one session, for both stacks
        bare, full = bare_dispatcher(), create_dispatcher(settings, create_sessionmaker(engine))

        results = {}
        for name, dp in (("a_bare_aiogram", bare), ("b_full_stack", full)):
            # Warm-up updates come from other users, so (b) still meets its measured users for the first time.
            await feed_all(dp, bot, synthetic_updates(warmup, users, seed + 1, first_id=10_000_000,
                                                      first_user=900_000))
            updates = synthetic_updates(n, users, seed)
            session.calls.clear()
            profiler = cProfile.Profile() if profile and name == "b_full_stack" else None
            if profiler:
                profiler.enable()
            elapsed, latencies = await feed_all(dp, bot, updates, concurrency)
            if profiler:
                profiler.disable()
                profiler.dump_stats(str(profile))
            results[name] = summary(name, n, elapsed, latencies)
            results[name]["bot_api_calls"] = len(session.calls)

        async with create_sessionmaker(engine)() as db:
            results["b_full_stack"]["db_users"] = await count_users(db, (100_000, 100_000 + users - 1))
            results["b_full_stack"]["db_history_rows"] = await count_requests(db)
            results["b_full_stack"]["db_error_rows"] = await count_requests(db, "error")
        await engine.dispose()
    ratio = results["b_full_stack"]["updates_per_s"] / results["a_bare_aiogram"]["updates_per_s"]
    return {"n": n, "users": users, "seed": seed, "concurrency": concurrency, "mix": dict(MIX),
            "ratio_b_over_a": round(ratio, 3),
            "target_ratio": 0.7, "meets_target": ratio >= 0.7, "python": platform.python_version(),
            "machine": platform.machine(), "results": [results["a_bare_aiogram"], results["b_full_stack"]]}


def print_table(report: dict) -> None:
    mode = "sequential" if report["concurrency"] == 1 else f"{report['concurrency']} at a time"
    print(f"{report['n']} updates from {report['users']} users, {mode}, one RecordingSession Bot")
    print(f"{'stack':<32} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    labels = {"a_bare_aiogram": "(a) bare aiogram, 1 handler", "b_full_stack": "(b) full stack + SQLite"}
    for row in report["results"]:
        print(f"{labels[row['stack']]:<32} {row['updates_per_s']:>10.1f} {row['p50_ms']:>8.3f} {row['p99_ms']:>8.3f}")
    verdict = "meets" if report["meets_target"] else "MISSES"
    print(f"ratio (b)/(a): {report['ratio_b_over_a']:.1%} ({verdict} the 70% target)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="updates per stack (default 5000)")
    parser.add_argument("--users", type=int, default=200, help="distinct users (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured updates per stack first")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="updates in flight at once (the webhook handles each in its own task); default 1")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--profile", type=Path, help="cProfile the full stack's run into this .prof file")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.n, args.users, args.seed, args.warmup, args.profile, max(1, args.concurrency)))
    print_table(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
