"""Crash-and-restart bench: kill -9 or SIGTERM the webhook process under load, restart it, count.

    python bench/crash.py [--updates 1000] [--concurrency 20] [--signals KILL,TERM] [--databases sqlite,postgres]
                          [--at 0.5] [--json OUT]

For each database and signal: a fresh database, the fake Bot API (fakes/botapi.py) in this process, and the bot as a
real child process (`python -m bot run` in webhook mode, pointed at the fake API). N updates (`/start` from N
different users, every 10th also posted a second time: Telegram resends after a timeout) are posted C at a time the
way Telegram does: an update that is not answered 200 (503 while stopping, refused while down) is posted again later.
When the share `--at` of them was acknowledged, the signal is sent; the bot is restarted and the senders go on until
every update was acknowledged. Then the database's history rows and the fake API's replies are counted per update:

    acknowledged  updates that got a 200 (all of them by the end)
    processed     updates with exactly one history row and exactly one reply
    lost          acknowledged updates with no history row or no reply
    duplicated    updates with more than one history row or more than one reply
    token_printed whether the bot token appeared anywhere in the child's stdout/stderr

Target: lost = duplicated = 0 for every signal on every database."""
import argparse
import asyncio
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.stack import free_port, update_json  # noqa: E402
from fakes.botapi import FakeBotAPI  # noqa: E402

TOKEN = "765432:AAHcrashBenchTokenSecretPart_5550123"
SECRET = "crash-bench-secret"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
FIRST_USER = 50_000


def update(update_id: int) -> dict[str, Any]:
    return update_json(update_id, FIRST_USER + update_id, "/start")


class BotProcess:
    def __init__(self, env: dict[str, str], workdir: Path, port: int):
        self.env, self.workdir, self.port = env, workdir, port
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    async def start(self) -> None:
        log = self.workdir / f"bot-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as handle:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 - the bot under test; its start is what is measured
                [sys.executable, "-m", "bot", "run"], cwd=self.workdir, env=self.env, stdout=handle,
                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300  # a cold start imports torch and transformers: slow on a busy machine
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"bot exited with {self.proc.returncode}: {log.read_text()[-2000:]}")
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"bot did not become healthy: {log.read_text(errors='replace')[-3000:]}")

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait(self, timeout: float = 60) -> int:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
            await asyncio.sleep(0.05)
        return int(self.proc.returncode)

    def output(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.logs)


async def count(database_url: str, n: int) -> tuple[Counter[int], int]:
    """History rows per update (user = FIRST_USER + update id), and unfinished inbox rows."""
    from storage.db import create_engine, create_sessionmaker
    from storage.repo.core import count_history_by_user
    from storage.repo.inbox import count_unfinished

    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            per_user = await count_history_by_user(session, "start")
            unfinished = await count_unfinished(session)
    finally:
        await engine.dispose()
    return Counter({user - FIRST_USER: n for user, n in per_user.items()}), unfinished


async def make_database(kind: str, tmp: Path) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'crash.sqlite3'}", None
    import asyncpg

    name = f"paperbot_crash_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()

    async def drop() -> None:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}", drop


def _keep_logs(directory: Path, prefix: str, logs: list[Path]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for path in logs:
        (directory / f"{prefix}-{path.name}").write_text(path.read_text(errors="replace"))


async def run_case(kind: str, sig: signal.Signals, n: int, concurrency: int, at: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="crash-bench-") as tmp_name:
        tmp = Path(tmp_name)
        database_url, drop = await make_database(kind, tmp)
        fake = FakeBotAPI()
        await fake.start()
        port = free_port()
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("BOT_", "WEBHOOK_", "TELEGRAM_", "DATABASE_", "INBOX_", "DIGEST_"))}
        env.update(PYTHONPATH=str(ROOT), BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=fake.base_url,
                   WEBHOOK_URL="https://bench.example.org/tg/hook", WEBHOOK_SECRET=SECRET,
                   WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=str(port), DATABASE_URL=database_url,
                   DIGEST_SCHEDULER="off", LOG_LEVEL="INFO", INBOX_LEASE_S="15", SHUTDOWN_GRACE_S="20")
        bot = BotProcess(env, tmp, port)
        await bot.start()
        acknowledged: set[int] = set()
        acked_before_signal: set[int] = set()
        posts = Counter[int]()
        statuses = Counter[str]()
        signalled = asyncio.Event()
        trigger = int(n * at)
        order = list(range(1, n + 1))
        # Every 10th update is posted twice at once (a resend after a timeout), shuffled in among the others.
        jobs = order + [update_id for update_id in order if update_id % 10 == 0]
        rng.shuffle(jobs)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for update_id in jobs:
            queue.put_nowait(update_id)

        async def sender(http: aiohttp.ClientSession) -> None:
            while True:
                try:
                    update_id = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                while True:
                    posts[update_id] += 1
                    try:
                        async with http.post(f"http://127.0.0.1:{port}/tg/hook", json=update(update_id),
                                             headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                                             timeout=aiohttp.ClientTimeout(total=30)) as response:
                            await response.read()
                            statuses[str(response.status)] += 1
                            if response.status == 200:
                                acknowledged.add(update_id)
                                if not signalled.is_set():
                                    acked_before_signal.add(update_id)
                                if len(acknowledged) >= trigger and not signalled.is_set():
                                    signalled.set()
                                break
                    except (TimeoutError, aiohttp.ClientError) as error:
                        statuses[type(error).__name__] += 1
                    await asyncio.sleep(0.2)  # Telegram waits before it tries again

        started = time.monotonic()
        exit_code: int | None = None
        async with aiohttp.ClientSession() as http:
            senders = [asyncio.create_task(sender(http)) for _ in range(concurrency)]
            await signalled.wait()
            signal_at = len(acknowledged)
            bot.signal(sig)
            exit_code = await bot.wait(120)
            stop_log = bot.output()[-4000:] if exit_code != 0 and sig != signal.SIGKILL else ""
            down_at = len(acknowledged)
            await bot.start()  # the restart
            await asyncio.gather(*senders)
        # Wait for the inbox to drain, then stop cleanly and count.
        deadline = time.monotonic() + 300
        while True:
            history, unfinished = await count(database_url, n)
            if unfinished == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        await asyncio.sleep(0.5)
        bot.signal(signal.SIGTERM)
        final_exit = await bot.wait(60)
        history, unfinished = await count(database_url, n)
        replies = Counter(int(call.params["chat_id"]) - FIRST_USER for call in fake.calls_to("sendMessage")
                          if call.status == 200)
        output = bot.output()
        keep = os.environ.get("CRASH_BENCH_LOGS")
        if keep:  # the bot's own logs, for a look at what a shutdown did (file I/O off the event loop)
            await asyncio.to_thread(_keep_logs, Path(keep), f"{kind}-{sig.name}", bot.logs)
        await fake.stop()
        if drop is not None:
            await drop()
        processed = [u for u in order if history[u] == 1 and replies[u] == 1]
        lost = [u for u in acknowledged if history[u] == 0 or replies[u] == 0]
        duplicated = [u for u in order if history[u] > 1 or replies[u] > 1]
        return {
            "database": kind, "signal": sig.name, "updates": n, "concurrency": concurrency,
            "acknowledged": len(acknowledged), "acknowledged_before_signal": len(acked_before_signal),
            "acknowledged_at_signal": signal_at, "acknowledged_until_down": down_at,
            "processed": len(processed), "lost": len(lost), "duplicated": len(duplicated),
            "lost_ids": sorted(lost)[:20], "duplicated_ids": sorted(duplicated)[:20],
            "duplicate_posts": sum(1 for u in jobs if u % 10 == 0) // 2,
            "history_rows": sum(history.values()), "replies": sum(replies.values()), "unfinished": unfinished,
            "exit_code_after_signal": exit_code, "exit_code_final": final_exit,
            "http_statuses": dict(statuses), "seconds": round(time.monotonic() - started, 1),
            "token_printed": TOKEN in output or TOKEN.split(":")[1] in output,
            "shutdown_logged": "shutdown:" in output,
            "shutdown_lines": [line[-200:] for line in output.splitlines() if "shutdown" in line][:12],
            "stop_log_tail": stop_log,
        }


def table(results: list[dict[str, Any]]) -> str:
    head = ("database", "signal", "acknowledged", "acked_at_signal", "processed", "lost", "duplicated",
            "exit", "token_printed", "seconds")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in results:
        lines.append(" | ".join(str(v) for v in (r["database"], r["signal"], r["acknowledged"],
                                                 r["acknowledged_at_signal"], r["processed"], r["lost"],
                                                 r["duplicated"], r["exit_code_after_signal"], r["token_printed"],
                                                 r["seconds"])))
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for kind in args.databases.split(","):
        for name in args.signals.split(","):
            sig = getattr(signal, "SIG" + name.upper())
            result = await run_case(kind, sig, args.updates, args.concurrency, args.at, args.seed)
            print(json.dumps({k: v for k, v in result.items() if not k.endswith("_ids")}), flush=True)
            results.append(result)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--signals", default="KILL,TERM")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--at", type=float, default=0.5, help="share of updates acknowledged before the signal")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({"results": results, "machine": platform.platform(),
                                         "python": platform.python_version(), "cpus": os.cpu_count()}, indent=2))
    ok = all(r["lost"] == 0 and r["duplicated"] == 0 and not r["token_printed"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
