"""Several bot processes on one PostgreSQL database, under load, with replicas stopped and killed mid-run.

    python bench/replicas.py [--updates 3000] [--users 300] [--rate 10] [--json OUT]
    python bench/replicas.py --costs [--json OUT]     # per-command SQL statements and Bot API calls

Set-up, all on loopback: a fresh PostgreSQL database (TEST_POSTGRES_URL's server), `python -m bot migrate` run once
as the release step, the bundled sample papers loaded (so the digest has content), the fake Bot API in this process,
two `python -m bot web` replicas in webhook mode on their own ports and one `python -m bot scheduler`.

Load: `--updates` updates from `--users` users (commands that record history, and plain text) posted at a steady
`--rate`, spread over the two replicas like a load balancer (round robin; a refused connection, a 503 or a 500 is
retried on the other replica and then again, as Telegram retries, until a replica acknowledges it). One more user
sends a `/subscribe` whose daily digest falls due during the run. Half-way one web replica gets SIGTERM and is
started again; at three quarters the other one is killed with SIGKILL and started again.

Counted afterwards, from the fake Bot API's record and the database: every acknowledged update answered exactly once
(each of these updates gets exactly one message), every command exactly one history row, the digest delivered
exactly once; p99 latency of `/help` from its first POST to its answer reaching the Bot API. Targets: lost =
duplicated = 0, p99 < 250 ms for /help, digests_delivered = 1, digests_duplicated = 0.
"""
from __future__ import annotations

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
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stack import Process, free_port, wait_ready  # noqa: E402
from fakes.botapi import FakeBotAPI  # noqa: E402

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TOKEN = "123456:AAHbenchReplicasTokenPart_0123456789"
SECRET = "bench-replicas-secret"
# (text, records a history row?) — each answered with exactly one message.
MIX = [("/help", True, 0.4), ("/start", True, 0.15), ("/history", True, 0.15),
       ("plain text about a paper, arXiv:2408.06518", False, 0.3)]
DIGEST_USER = 990_000_001


@dataclass
class Sent:
    update_id: int
    chat_id: int
    text: str
    records_history: bool
    first_post: float = 0.0
    acknowledged: float | None = None
    attempts: int = 0


def update_json(sent: Sent) -> dict[str, Any]:
    entities = ([{"type": "bot_command", "offset": 0, "length": len(sent.text.split()[0])}]
                if sent.text.startswith("/") else [])
    return {"update_id": sent.update_id, "message": {
        "message_id": sent.update_id, "date": int(time.time()), "text": sent.text, "entities": entities,
        "chat": {"id": sent.chat_id, "type": "private", "first_name": "Bench"},
        "from": {"id": sent.chat_id, "is_bot": False, "first_name": "Bench", "language_code": "en"}}}


class LoadBalancer:
    """Round robin over the web replicas; a failed POST goes to the next replica, then again after a pause, until
    one acknowledges (Telegram resends whatever it did not get a 200 for)."""

    def __init__(self, ports: list[int], path: str):
        self.urls = [f"http://127.0.0.1:{port}{path}" for port in ports]
        self.next = 0
        self.failovers = 0
        self.http: aiohttp.ClientSession | None = None

    async def post(self, sent: Sent) -> None:
        assert self.http is not None
        body = update_json(sent)
        sent.first_post = time.monotonic()
        start = self.next
        self.next = (self.next + 1) % len(self.urls)
        for attempt in range(10_000):
            url = self.urls[(start + attempt) % len(self.urls)]
            sent.attempts += 1
            try:
                async with self.http.post(url, json=body,
                                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                    await response.read()
                    if response.status == 200:
                        sent.acknowledged = time.monotonic()
                        return
            except (TimeoutError, aiohttp.ClientError, OSError):
                pass
            self.failovers += 1
            if attempt % len(self.urls) == len(self.urls) - 1:
                await asyncio.sleep(0.2)  # every replica refused: Telegram waits before the next try
        raise RuntimeError(f"update {sent.update_id} was never acknowledged")


def plan(n: int, users: int, seed: int) -> list[Sent]:
    """Round robin over shuffled users, so one user's updates are `users / rate` seconds apart (each user's answers
    come back in order and can be matched to its updates)."""
    rng = random.Random(seed)
    people = [1_000_000 + index for index in range(users)]
    rng.shuffle(people)
    texts = [(text, records) for text, records, _ in MIX]
    weights = [weight for *_, weight in MIX]
    return [Sent(update_id=10_000 + index, chat_id=people[index % users],
                 text=(choice := rng.choices(texts, weights)[0])[0], records_history=choice[1])
            for index in range(n)]


async def create_database() -> str:
    import asyncpg

    name = f"paperbot_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return name


async def drop_database(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def database_counts(url: str, users: list[int]) -> dict[str, Any]:
    from sqlalchemy import text

    from storage.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            history = (await connection.execute(
                text("SELECT user_id, command, count(*) FROM history WHERE user_id = ANY(:users) "
                     "GROUP BY user_id, command"), {"users": users})).all()
            inbox: dict[Any, Any] = dict((await connection.execute(
                text("SELECT status, count(*) FROM inbox_updates GROUP BY status"))).all())
            deliveries: dict[Any, Any] = dict((await connection.execute(
                text("SELECT state, count(*) FROM digest_deliveries GROUP BY state"))).all())
            digest_sent = (await connection.execute(
                text("SELECT count(*) FROM digest_deliveries WHERE chat_id = :chat AND state = 'sent'"),
                {"chat": DIGEST_USER})).scalar_one()
    finally:
        await engine.dispose()
    per_user: dict[int, dict[str, int]] = defaultdict(dict)
    for user_id, command, count in history:
        per_user[int(user_id)][str(command)] = int(count)
    return {"history": per_user, "inbox": inbox, "deliveries": deliveries, "digest_sent": int(digest_sent)}


def next_due(now: datetime, at_least_s: float) -> datetime:
    due = (now + timedelta(seconds=at_least_s)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return due


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from digests.samples import load_samples
    from storage.db import create_engine

    workdir = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    database = await create_database()
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{database}"
    result: dict[str, Any] = {}
    processes: list[Process] = []
    fake = await FakeBotAPI().start()
    try:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("BOT_", "WEBHOOK_"))}
        env.update({"PYTHONPATH": str(ROOT), "BOT_TOKEN": TOKEN, "DATABASE_URL": url,
                    "TELEGRAM_API_BASE": fake.base_url, "WEBHOOK_URL": "https://bench.example/hook",
                    "WEBHOOK_SECRET": SECRET, "WEBHOOK_HOST": "127.0.0.1", "INBOX_LEASE_S": str(args.lease_s),
                    "ARXIV_API_BASE": "http://127.0.0.1:9/api", "LOG_LEVEL": "INFO",
                    "QUOTA_STORAGE": "redis://127.0.0.1:6379/0" if args.redis else "memory://"})
        started = time.monotonic()
        migrate = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot", "migrate"], cwd=workdir,
                                          env=env, capture_output=True, text=True, timeout=300)
        if migrate.returncode != 0:
            raise SystemExit(f"migrate failed: {migrate.stderr[-2000:]}")
        result["migrate_s"] = round(time.monotonic() - started, 2)
        engine = create_engine(url)
        async with async_sessionmaker(engine)() as session:
            result["sample_papers_loaded"] = await load_samples(session)
            await session.commit()
        await engine.dispose()

        web_ports = [free_port(), free_port()]
        scheduler_port = free_port()
        webs = [Process("web", f"web{i}", {**env, "WEBHOOK_PORT": str(port), "METRICS_PORT": "0"}, workdir)
                for i, port in enumerate(web_ports)]
        scheduler = Process("scheduler", "scheduler", {**env, "METRICS_PORT": str(scheduler_port),
                                                       "METRICS_HOST": "127.0.0.1"}, workdir)
        processes = [*webs, scheduler]
        for process in processes:
            process.start()
        startup = await asyncio.gather(*(wait_ready(f"http://127.0.0.1:{port}/readyz", web)
                                         for web, port in zip(webs, web_ports, strict=True)),
                                       wait_ready(f"http://127.0.0.1:{scheduler_port}/readyz", scheduler))
        result["startup_s"] = [round(value, 1) for value in startup]

        balancer = LoadBalancer(web_ports, "/hook")
        updates = plan(args.updates, args.users, args.seed)
        duration = args.updates / args.rate
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            balancer.http = http
            # The subscription first, due at a minute boundary that falls inside the run (the scheduler process
            # picks new subscriptions up within a minute).
            due = next_due(datetime.now(UTC), max(75.0, min(duration * 0.5, duration - 60)))
            subscribe = Sent(update_id=9_000, chat_id=DIGEST_USER, records_history=True,
                             text=f"/subscribe leakage, spelling, dpo lang=en daily={due:%H:%M}")
            await balancer.post(subscribe)
            result["digest_due_utc"] = due.strftime("%H:%M")

            tasks: list[asyncio.Task[None]] = []
            events: list[dict[str, Any]] = []
            load_started = time.monotonic()
            half, three_quarters = len(updates) // 2, (3 * len(updates)) // 4

            async def restart(process: Process, port: int, sig: int, after: asyncio.Task[None] | None = None) -> None:
                if after is not None:
                    await after  # a rolling restart: never both replicas down because one was slow to come back
                at = time.monotonic() - load_started
                process.signal(sig)
                code = await process.wait()
                process.start()
                ready_after = await wait_ready(f"http://127.0.0.1:{port}/readyz", process)
                events.append({"replica": process.name, "signal": signal.Signals(sig).name, "at_s": round(at, 1),
                               "exit_code": code, "back_ready_after_s": round(ready_after, 1)})

            restarts: list[asyncio.Task[None]] = []
            for index, sent in enumerate(updates):
                target = load_started + index / args.rate
                delay = target - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if index == half:
                    restarts.append(asyncio.create_task(restart(webs[0], web_ports[0], signal.SIGTERM)))
                if index == three_quarters:
                    restarts.append(asyncio.create_task(restart(webs[1], web_ports[1], signal.SIGKILL,
                                                                after=restarts[0] if restarts else None)))
                tasks.append(asyncio.create_task(balancer.post(sent)))
            await asyncio.gather(*tasks)
            load_s = time.monotonic() - load_started
            await asyncio.gather(*restarts)

            # Wait for the answers (a killed replica's claims come back after INBOX_LEASE_S) and the digest.
            expected: dict[int, int] = defaultdict(int)
            for sent in updates:
                expected[sent.chat_id] += 1
            deadline = time.monotonic() + args.settle_s
            digest_deadline = due.timestamp() + 120

            def answers() -> dict[int, list[float]]:
                by_chat: dict[int, list[float]] = defaultdict(list)
                for call in fake.calls:
                    if call.method == "sendMessage" and call.status == 200:
                        by_chat[int(call.params["chat_id"])].append(call.at)
                return by_chat

            while time.monotonic() < deadline:
                by_chat = answers()
                done = all(len(by_chat.get(chat, [])) >= count for chat, count in expected.items())
                digest_done = len(by_chat.get(DIGEST_USER, [])) >= 2
                if done and (digest_done or time.time() > digest_deadline):
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(args.quiet_s)  # late duplicates would show up now
            by_chat = answers()

        counts = await database_counts(url, [*expected, DIGEST_USER])
        lost = duplicated = answered = 0
        help_latencies: list[float] = []
        all_latencies: list[float] = []
        per_chat_updates: dict[int, list[Sent]] = defaultdict(list)
        for sent in updates:
            per_chat_updates[sent.chat_id].append(sent)
        unanswered: list[dict[str, Any]] = []
        for chat, sents in per_chat_updates.items():
            got = sorted(by_chat.get(chat, []))
            if len(got) < len(sents):
                unanswered.append({"chat": chat, "updates": [(s.update_id, s.text[:20]) for s in sents],
                                   "answers": len(got),
                                   "calls": [(c.method, c.status, str(c.params.get("text", ""))[:40])
                                             for c in fake.calls if str(c.params.get("chat_id")) == str(chat)]})
            lost += max(0, len(sents) - len(got))
            duplicated += max(0, len(got) - len(sents))
            answered += min(len(sents), len(got))
            if len(got) == len(sents):
                for sent, at in zip(sorted(sents, key=lambda s: s.first_post), got, strict=True):
                    all_latencies.append(at - sent.first_post)
                    if sent.text == "/help":
                        help_latencies.append(at - sent.first_post)
        commands = sum(1 for sent in updates if sent.records_history)
        history_rows = sum(sum(per_user.values()) for user, per_user in counts["history"].items()
                           if user != DIGEST_USER)
        history_mismatch = 0
        for chat, sents in per_chat_updates.items():
            wanted: dict[str, int] = defaultdict(int)
            for sent in sents:
                if sent.records_history:
                    wanted[sent.text.split()[0][1:]] += 1
            have = counts["history"].get(chat, {})
            history_mismatch += sum(abs(have.get(command, 0) - n) for command, n in wanted.items())
            history_mismatch += sum(n for command, n in have.items() if command not in wanted)
        # After the subscription's confirmation, the digest's messages (one, or a few if it was split at 4096);
        # a second delivery would repeat the same texts.
        digest_texts = [str(call.params.get("text")) for call in fake.calls if call.method == "sendMessage"
                        and call.status == 200 and int(call.params["chat_id"]) == DIGEST_USER][1:]
        # The update answers' end, not the digest's (it falls due on its own clock, often after the load ends).
        last_answer = max((max(times) for chat, times in by_chat.items() if chat != DIGEST_USER),
                          default=load_started)

        def pct(values: list[float], q: float) -> float | None:
            if not values:
                return None
            ordered = sorted(values)
            return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        result.update({
            "updates": len(updates), "users": args.users, "commands": commands, "answered": answered,
            "lost": lost, "duplicated": duplicated, "history_rows": history_rows,
            "history_mismatch": history_mismatch,
            "updates_per_s": round(len(updates) / (last_answer - load_started), 1),
            "offered_rate_per_s": args.rate, "load_s": round(load_s, 1),
            "p50_ms": pct(help_latencies, 0.5), "p99_ms": pct(help_latencies, 0.99),
            "p99_all_ms": pct(all_latencies, 0.99), "max_ms": pct(all_latencies, 1.0),
            "help_samples": len(help_latencies),
            "digests_delivered": counts["digest_sent"] if digest_texts else 0,
            "digests_duplicated": (len(digest_texts) - len(set(digest_texts))) + max(0, counts["digest_sent"] - 1),
            "digest_messages": len(digest_texts),
            "digest_deliveries_by_state": {str(k): int(v) for k, v in counts["deliveries"].items()},
            "inbox_by_status": {str(k): int(v) for k, v in counts["inbox"].items()},
            "failovers": balancer.failovers, "events": events, "unanswered_chats": unanswered[:10],
            "exit_codes": {process.name: process.exits for process in processes},
        })
        result["targets_met"] = (lost == 0 and duplicated == 0 and history_mismatch == 0
                                 and answered == len(updates) and history_rows == commands
                                 and result["p99_ms"] is not None and result["p99_ms"] < 250
                                 and result["digests_delivered"] == 1 and result["digests_duplicated"] == 0)
    finally:
        for process in processes:
            process.signal(signal.SIGTERM)
        for process in processes:
            if process.popen is not None:
                try:
                    await process.wait(60)
                except subprocess.TimeoutExpired:
                    process.signal(signal.SIGKILL)
        await fake.stop()
        if not args.keep:
            await drop_database(database)
        result["logs"] = str(workdir)
    result.update({"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                               "platform": platform.platform()},
                   "when": datetime.now(UTC).isoformat(timespec="seconds")})
    return result


COST_COMMANDS = ["/start", "/help", "/history", "/lang ru", "plain text about a paper, arXiv:2408.06518",
                 "/subscribe leakage lang=en daily=09:00", "/digest", "/leak yellow | He works as a"]


async def costs(database_url: str, per_command: int = 10) -> list[dict[str, Any]]:
    """What one update of each command costs through the real path (inbox store → claim → dispatcher → done):
    SQL statements (every engine, the call journal's included), Bot API calls, wall time; averaged over
    `per_command` updates from users who already exist. /leak and /digest use the loopback OpenAI-compatible fake
    for text and embeddings, so their inference time here is near zero (real inference: docs/scaling.md)."""
    from aiogram.types import Chat, User
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from bot.app import create_bot, create_dispatcher, create_hub
    from bot.config import AppSettings
    from bot.transports.inbox import Inbox
    from bot.transports.offline import RecordingSession
    from fakes.openai_api import FakeOpenAI
    from storage.db import create_engine, create_sessionmaker
    from storage.migrate import upgrade

    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    event.listen(Engine, "before_cursor_execute", count)
    openai = await FakeOpenAI().start()
    remote = {"remote-text": {"base_url": openai.base_url, "model": "m"},
              "remote-embed": {"base_url": openai.base_url, "model": "e", "kind": "embedder"}}
    config = AppSettings.load(env_file=None, database_url=database_url, bot_token=TOKEN, quota_user_requests=10**6,
                              quota_chat_requests=10**6, remote_models=remote, default_text_model="remote-text",
                              default_embedder="remote-embed", digest_scheduler="off")
    engine = create_engine(config.bot.database_url)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    session = RecordingSession(User(id=42, is_bot=True, first_name="Bench", username="paper_demo_bot"))
    bot = create_bot(config.bot, session=session)
    hub = create_hub(config.models)
    dp = create_dispatcher(config, sessionmaker, hub)
    await dp["digests"].load_samples()
    inbox = Inbox(bot, dp, sessionmaker, workers=4, poll_s=0.05)
    await inbox.start()
    ids = iter(range(50_000, 10**9))
    users = [2_000_000 + index for index in range(per_command)]
    for user in users:
        session.chats[user] = Chat(id=user, type="private", first_name="Bench")

    async def run_batch(text: str) -> tuple[int, int, float]:
        done, db, api = inbox.processed, statements[0], len(session.calls)
        started = time.perf_counter()
        batch = [Sent(next(ids), user, text, False) for user in users]
        await inbox.store([(sent.update_id, update_json(sent)) for sent in batch])
        while inbox.processed < done + len(batch):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # work an update spawned (jobs) finishing its sends
        while len(session.calls) != api and any(not t.done() for t in asyncio.all_tasks()
                                                if (t.get_name() or "").startswith("job")):
            await asyncio.sleep(0.05)
        return statements[0] - db, len(session.calls) - api, time.perf_counter() - started

    await run_batch("/start")  # first contact (user rows) outside the measurement
    rows = []
    for text in COST_COMMANDS:
        db, api, seconds = await run_batch(text)
        rows.append({"command": text.split()[0] if text.startswith("/") else "text",
                     "sql_per_update": round(db / per_command, 1), "bot_api_per_update": round(api / per_command, 1),
                     "ms_per_update_sequential_batch": round(1000 * seconds / per_command, 1)})
    await inbox.stop(5)
    await hub.close()
    await dp["digests"].close()
    await openai.stop()
    await engine.dispose()
    event.remove(Engine, "before_cursor_execute", count)
    return rows


def table(result: dict[str, Any]) -> str:
    keys = ["updates", "commands", "answered", "lost", "duplicated", "history_rows", "history_mismatch",
            "updates_per_s", "p50_ms", "p99_ms", "p99_all_ms", "digests_delivered", "digests_duplicated",
            "failovers", "targets_met"]
    lines = [f"{key:>20}  {result.get(key)}" for key in keys]
    lines += [f"{'event':>20}  {event}" for event in result.get("events", [])]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10.0, help="updates per second offered")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lease-s", type=float, default=5.0, help="INBOX_LEASE_S of the replicas")
    parser.add_argument("--settle-s", type=float, default=300.0, help="longest wait for answers and the digest")
    parser.add_argument("--quiet-s", type=float, default=5.0, help="wait after the last answer for duplicates")
    parser.add_argument("--redis", action="store_true", help="QUOTA_STORAGE=redis://127.0.0.1:6379/0")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--costs", action="store_true",
                        help="instead: per-command SQL statements and Bot API calls on SQLite and PostgreSQL")
    args = parser.parse_args()
    if args.costs:
        return asyncio.run(_costs_main(args))
    result = asyncio.run(run(args))
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result.get("targets_met") else 1


async def _costs_main(args: argparse.Namespace) -> int:
    database = await create_database()
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    result: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            result["sqlite"] = await costs(f"sqlite+aiosqlite:///{scratch}/costs.sqlite3")
        result["postgresql"] = await costs(f"{base}/{database}")
    finally:
        await drop_database(database)
    for backend, rows in result.items():
        print(backend)
        for row in rows:
            print(f"  {row['command']:>12}  sql {row['sql_per_update']:>5}  bot api {row['bot_api_per_update']:>4}  "
                  f"{row['ms_per_update_sequential_batch']:>7} ms")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
