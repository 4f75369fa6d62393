"""Fault bench: the webhook stack under steady load through the faults of real deployments, counted per update.

    python bench/faults.py --json OUT [--scenario NAME] [--duration 60] [--rate 20] [--quick]

Everything is on loopback and of its own: a PostgreSQL cluster (initdb in a temporary directory, another port), a
redis-server on another port, the fake Bot API and the fake OpenAI-compatible models in this process, and two
`python -m bot web` replicas on a database of their own, shared by the scenarios that run on them (each scenario has
its own users and update ids, and is counted on its own): PostgreSQL directly, PostgreSQL through a delaying proxy
(`slow_db`), or SQLite on a small tmpfs (`disk_full`, one replica: SQLite is for one process; needs root to mount).
The shared PostgreSQL (5432) and Redis (6379) are never touched.

Load: `--rate` updates/s for `--duration` s from 200 users (/help, /start, /history, plain text, 10 % /leak on the
fake models: the quota path), spread over the replicas like a load balancer. The sender acts as Telegram does: at
most 40 POSTs in flight, and every answer other than 200 (or no answer) is posted again (the other replica at once,
then after a backoff from 0.5 s doubling to 4 s, jittered), until it is acknowledged. The fault starts at a
quarter of the run:

    pg_restart      PostgreSQL restarted (pg_ctl restart -m fast: every connection dropped)
    pg_down         PostgreSQL stopped for --outage-s (20) s, then started
    botapi_5xx      a third of Bot API calls answer 502, for --fault-s
    botapi_429      a third answer 429 with retry_after = 2
    botapi_timeout  a fifth hang past the client timeout (BOT_API_TIMEOUT_S = 10), carried out first
    redis_down      the quota's Redis stopped, then started again
    disk_full       the SQLite database's file system (tmpfs) filled up, then space freed
    slow_db         every client-to-server packet to PostgreSQL delayed 30 ms (a proxy)
    overload        150 updates/s offered for --overload-s (10) s, INBOX_MAX_BACKLOG = 300

Per scenario: acknowledged, processed (inbox rows done), lost (acknowledged updates without their one reply),
duplicated (updates with more than one), answered, recovered_after_s (from the fault's end until the last update
posted before it was answered), errors_logged (ERROR lines and tracebacks in the replicas' logs), Bot API calls per
update, database failures and reruns counted by the replicas, what /readyz said during the fault. Targets: 0 lost,
0 duplicated, recovery <= 10 s, /readyz reflecting the fault."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import ROOT, DelayProxy, Postgres, Process, Redis, free_port, update_json, wait_ready
from fakes.botapi import FakeBotAPI
from fakes.openai_api import FakeOpenAI

TOKEN = "123456:AAHbenchFaultsTokenPart_0123456789"
SECRET = "bench-faults-secret"
SCENARIOS = ("pg_restart", "pg_down", "botapi_5xx", "botapi_429", "botapi_timeout", "redis_down", "disk_full",
             "slow_db", "overload")
MIX = [("/help", 0.35), ("/start", 0.15), ("/history", 0.1), ("plain text about arXiv:2408.06518", 0.3),
       ("/leak yellow | He works as a", 0.1)]
# /readyz during the fault: what it must show (status code, a check that is not "ok"); None: nothing to show.
EXPECTED_READYZ: dict[str, tuple[int, str] | None] = {
    "pg_restart": (503, "storage"), "pg_down": (503, "storage"), "botapi_5xx": (200, "bot_api"),
    "botapi_429": (200, "bot_api"), "botapi_timeout": (200, "bot_api"), "redis_down": (200, "quota"),
    "disk_full": (503, "inbox_storage"), "slow_db": None, "overload": (200, "inbox_backlog")}


@dataclass
class Sent:
    update_id: int
    chat_id: int
    text: str
    first_post: float = 0.0
    acknowledged: float | None = None
    posts: int = 0


@dataclass
class Sender:
    """Telegram's side: at most `connections` POSTs in flight; a non-200 is posted again after a backoff."""
    urls: list[str]
    connections: int = 40
    statuses: Counter[str] = field(default_factory=Counter)
    http: aiohttp.ClientSession | None = None
    stop_at: float = float("inf")

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.connections)
        self.next = 0

    async def deliver(self, sent: Sent) -> None:
        assert self.http is not None
        body = update_json(sent.update_id, sent.chat_id, sent.text)
        sent.first_post = time.monotonic()
        start, self.next = self.next, self.next + 1
        attempt = 0
        while time.monotonic() < self.stop_at:
            url = self.urls[(start + attempt) % len(self.urls)]
            sent.posts += 1
            try:
                async with self.slots, self.http.post(url, json=body,
                                                      headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as answer:
                    await answer.read()
                    self.statuses[str(answer.status)] += 1
                    if answer.status == 200:
                        sent.acknowledged = time.monotonic()
                        return
            except (TimeoutError, aiohttp.ClientError, OSError) as error:
                self.statuses[type(error).__name__] += 1
            attempt += 1
            # Telegram backs off between redeliveries; a second replica gets the next try at once.
            if attempt % len(self.urls) == 0:
                await asyncio.sleep(min(4.0, 0.5 * 2 ** (attempt // len(self.urls) - 1)) * random.uniform(0.5, 1))


def stack_kind(scenario: str) -> str:
    return {"disk_full": "sqlite", "slow_db": "proxy"}.get(scenario, "direct")


@dataclass
class Stack:
    kind: str
    webs: list[Process]
    ports: list[int]
    count_url: str
    startup: list[float]


class Scenario:
    """One fault: `begin` and `end` it (each may take time); `where` says which database the stack runs on."""

    def __init__(self, name: str, bench: Bench):
        self.name, self.bench = name, bench

    @property
    def sqlite(self) -> bool:
        return self.name == "disk_full"

    async def begin(self) -> None:
        b = self.bench
        if self.name == "pg_restart":
            await asyncio.to_thread(b.postgres.restart)
        elif self.name == "pg_down":
            await asyncio.to_thread(b.postgres.stop)
        elif self.name.startswith("botapi_"):
            kind = {"botapi_5xx": ("502", 1 / 3), "botapi_429": ("429", 1 / 3), "botapi_timeout": ("hang", 0.2)}
            fault, rate = kind[self.name]
            b.fake.inject(fault, rate, retry_after=2, hang_s=15.0)
        elif self.name == "redis_down":
            await asyncio.to_thread(b.redis.stop)
        elif self.name == "disk_full":
            await asyncio.to_thread(b.fill_disk)
        elif self.name == "slow_db":
            assert b.proxy is not None
            b.proxy.delay_s = 0.03
        elif self.name == "overload":
            b.rate = b.args.overload_rate

    async def end(self) -> None:
        b = self.bench
        if self.name == "pg_down":
            await asyncio.to_thread(b.postgres.start)
        elif self.name.startswith("botapi_"):
            b.fake.inject(None)
        elif self.name == "redis_down":
            await asyncio.to_thread(b.redis.start)
        elif self.name == "disk_full":
            await asyncio.to_thread(b.free_disk)
        elif self.name == "slow_db":
            assert b.proxy is not None
            b.proxy.delay_s = 0.0
        elif self.name == "overload":
            b.rate = b.args.rate


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path):
        self.args, self.workdir = args, workdir
        self.rate = args.rate
        self.postgres = Postgres(workdir)
        self.redis = Redis(workdir)
        self.fake = FakeBotAPI()
        self.openai = FakeOpenAI()
        self.proxy: DelayProxy | None = None
        self.tmpfs: Path | None = None
        self.filler: Path | None = None
        self.tmpfs_problem: str | None = None
        self.stacks: dict[str, Stack] = {}

    # --- the disk of disk_full ---
    def mount_tmpfs(self) -> str | None:
        self.tmpfs = self.workdir / "tmpfs"
        self.tmpfs.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.args.tmpfs_mb}m", "tmpfs",
                               str(self.tmpfs)], capture_output=True, text=True)
        if done.returncode != 0:
            self.tmpfs = None
            return f"cannot mount a tmpfs (needs root): {done.stderr.strip()[:200]}"
        return None

    def fill_disk(self) -> None:
        """Write a filler file until the file system has no byte left (unbuffered, so no write is pending at close)."""
        assert self.tmpfs is not None
        self.filler = self.tmpfs / "filler"
        with self.filler.open("wb", buffering=0) as handle:
            for size in (1 << 20, 4096, 1):
                try:
                    while True:
                        handle.write(b"\0" * size)
                except OSError:
                    pass

    def free_disk(self) -> None:
        if self.filler is not None:
            self.filler.unlink(missing_ok=True)

    # --- one scenario ---
    def env(self, database_url: str, scenario: Scenario) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("BOT_", "WEBHOOK_", "TELEGRAM_", "DATABASE_", "INBOX_", "QUOTA_", "DB_"))}
        models = {"remote-text": {"base_url": self.openai.base_url, "model": "m", "timeout_s": 10},
                  "remote-embed": {"base_url": self.openai.base_url, "model": "e", "kind": "embedder",
                                   "timeout_s": 10}}
        env.update({"PYTHONPATH": str(ROOT), "BOT_TOKEN": TOKEN, "DATABASE_URL": database_url,
                    "TELEGRAM_API_BASE": self.fake.base_url, "WEBHOOK_URL": "https://bench.example/hook",
                    "WEBHOOK_SECRET": SECRET, "WEBHOOK_HOST": "127.0.0.1", "LOG_LEVEL": "INFO",
                    "INBOX_LEASE_S": "30", "BOT_API_TIMEOUT_S": "10", "DIGEST_SCHEDULER": "off",
                    "ARXIV_API_BASE": "http://127.0.0.1:9/api", "REMOTE_MODELS": json.dumps(models),
                    "DEFAULT_TEXT_MODEL": "remote-text", "DEFAULT_EMBEDDER": "remote-embed", "LEAK_SAMPLES": "2",
                    "QUOTA_USER_REQUESTS": "1000", "QUOTA_CHAT_REQUESTS": "1000", "QUOTA_STORAGE": self.redis.url,
                    "INBOX_MAX_BACKLOG": str(self.args.max_backlog), "METRICS_PORT": "0",
                    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
        return env

    async def stack(self, scenario: Scenario) -> Stack:
        """The replicas a scenario runs on, started once and shared: PostgreSQL direct, PostgreSQL through the delay
        proxy (slow_db), or SQLite on the tmpfs (disk_full, one replica: SQLite is for one process)."""
        kind = stack_kind(scenario.name)
        if kind in self.stacks:
            return self.stacks[kind]
        if kind == "sqlite":
            assert self.tmpfs is not None
            url = count_url = f"sqlite+aiosqlite:///{self.tmpfs / 'faults.sqlite3'}"
        else:
            import asyncpg

            name = f"faults_{kind}"
            admin = await asyncpg.connect(self.postgres.admin_url)
            await admin.execute(f'CREATE DATABASE "{name}"')
            await admin.close()
            count_url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.postgres.port}/{name}"
            port = self.proxy.port if kind == "proxy" and self.proxy is not None else self.postgres.port
            url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{name}"
        env = self.env(url, scenario)
        workdir = self.workdir / kind
        workdir.mkdir()
        migrate = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot", "migrate"], cwd=workdir,
                                          env=env, capture_output=True, text=True, timeout=600)
        if migrate.returncode != 0:
            raise SystemExit(f"{kind}: migrate failed: {migrate.stderr[-2000:]}")
        ports = [free_port() for _ in range(1 if kind == "sqlite" else 2)]
        webs = [Process("web", f"web{i}", {**env, "WEBHOOK_PORT": str(port)}, workdir)
                for i, port in enumerate(ports)]
        for web in webs:
            web.start()
        startup = await asyncio.gather(*(wait_ready(f"http://127.0.0.1:{port}/readyz", web, timeout=900)
                                         for web, port in zip(webs, ports, strict=True)))
        stack = Stack(kind, webs, ports, count_url, [round(s, 1) for s in startup])
        self.stacks[kind] = stack
        return stack

    async def close_stacks(self) -> None:
        for stack in self.stacks.values():
            for web in stack.webs:
                await web.stop()

    async def run(self, index: int, name: str) -> dict[str, Any]:
        scenario = Scenario(name, self)
        if scenario.sqlite and self.tmpfs is None:
            return {"scenario": name, "skipped": "no tmpfs: " + (self.tmpfs_problem or "")}
        stack = await self.stack(scenario)
        self.fake.calls.clear()
        self.fake.faulted = 0
        self.rate = self.args.rate
        result: dict[str, Any] = {"scenario": name, "replicas": len(stack.webs),
                                  "database": "sqlite (tmpfs)" if scenario.sqlite else "postgresql",
                                  "replica_startup_s": stack.startup}
        lines_before = [len(web.output().splitlines()) for web in stack.webs]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            before = [await scrape(http, port) for port in stack.ports]
        try:
            result.update(await self.load(scenario, stack, index, before))
        finally:
            if scenario.name == "pg_down" and not self.postgres_up():
                await asyncio.to_thread(self.postgres.start)
        new_lines = [line for web, skip in zip(stack.webs, lines_before, strict=True)
                     for line in web.output().splitlines()[skip:]]
        errors = [line for line in new_lines if " ERROR " in line or line.startswith("Traceback")]
        result["errors_logged"], result["error_lines"] = len(errors), [line[:200] for line in errors[:8]]
        result["warnings_logged"] = sum(" WARNING " in line for line in new_lines)
        result["warning_lines"] = [line[:160] for line in new_lines if " WARNING " in line][:8]
        result["logs"] = str(stack.webs[0].workdir)
        return result

    def postgres_up(self) -> bool:
        import socket
        try:
            with socket.create_connection(("127.0.0.1", self.postgres.port), timeout=0.5):
                return True
        except OSError:
            return False

    async def load(self, scenario: Scenario, stack: Stack, index: int,
                   before: list[dict[str, float]]) -> dict[str, Any]:
        """Users and update ids of their own per scenario, so scenarios can share replicas and a database."""
        args = self.args
        ports, count_url = stack.ports, stack.count_url
        rng = random.Random(args.seed + index)
        users = [3_000_000 + 10_000 * index + n for n in range(200)]
        rng.shuffle(users)
        texts, weights = [t for t, _ in MIX], [w for _, w in MIX]
        sender = Sender([f"http://127.0.0.1:{port}/hook" for port in ports])
        sent: list[Sent] = []
        readyz: list[tuple[float, int, dict[str, Any]]] = []
        fault_at = args.duration * 0.25
        fault_len = {"pg_down": args.outage_s, "overload": args.overload_s}.get(scenario.name, args.fault_s)
        timeline: dict[str, float] = {}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            sender.http = http
            started = time.monotonic()
            sender.stop_at = started + args.duration + args.settle_s

            async def probe(port: int) -> None:
                while True:
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/readyz",
                                            timeout=aiohttp.ClientTimeout(total=3)) as answer:
                            readyz.append((time.monotonic() - started, answer.status, await answer.json()))
                    except (TimeoutError, aiohttp.ClientError, OSError, ValueError):
                        readyz.append((time.monotonic() - started, 0, {}))
                    await asyncio.sleep(0.5)

            async def fault() -> None:
                await asyncio.sleep(fault_at)
                timeline["fault_begin"] = time.monotonic() - started
                await scenario.begin()
                if scenario.name != "pg_restart":
                    await asyncio.sleep(max(0.0, fault_at + fault_len - (time.monotonic() - started)))
                    await scenario.end()
                timeline["fault_end"] = time.monotonic() - started

            probers = [asyncio.create_task(probe(port)) for port in ports]  # every replica: a fault may hit one
            faulting = asyncio.create_task(fault())
            tasks: list[asyncio.Task[None]] = []
            first_id = next_id = 10_000_000 * (index + 1)
            at = 0.0
            while at < args.duration:
                delay = started + at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                chat = users[len(sent) % len(users)]
                item = Sent(next_id, chat, rng.choices(texts, weights)[0])
                next_id += 1
                sent.append(item)
                tasks.append(asyncio.create_task(sender.deliver(item)))
                at += 1.0 / self.rate
            await faulting
            await asyncio.gather(*tasks)
            load_s = time.monotonic() - started

            expected: Counter[int] = Counter(item.chat_id for item in sent if item.acknowledged is not None)
            deadline = time.monotonic() + args.settle_s
            while time.monotonic() < deadline:
                got = replies(self.fake)
                if all(len(got.get(chat, [])) >= n for chat, n in expected.items()):
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(args.quiet_s)  # late duplicates would show up now
            for prober in probers:
                prober.cancel()
            after = [await scrape(http, port) for port in ports]
        metrics = [{key: value - old.get(key, 0.0) for key, value in new.items()}
                   for new, old in zip(after, before, strict=True)]
        got = replies(self.fake)
        counted = count(sent, got, started, timeline)
        # Replies per second of the run (the fake Bot API's record): how fast the backlog went, second by second.
        per_second: Counter[int] = Counter(int(at - started) for times in got.values() for at in times)
        counted["answers_per_s"] = [per_second.get(second, 0) for second in range(max(per_second, default=-1) + 1)]
        return {**counted, **await inbox_counts(count_url, first_id, next_id, users),
                "load_s": round(load_s, 1), "offered_rate": args.rate, "timeline_s": {
                    key: round(value, 1) for key, value in timeline.items()},
                "http_statuses": dict(sender.statuses),
                "bot_api_calls_per_update": round(bot_api_calls(self.fake, set(expected)) / max(1, len(sent)), 2),
                "bot_api_faults_injected": self.fake.faulted,
                "posts_per_update": round(sum(item.posts for item in sent) / max(1, len(sent)), 2),
                "database_failures": sum(m.get("database", 0) for m in metrics),
                "bot_api_failures": sum(m.get("bot_api", 0) for m in metrics),
                "reruns": sum(m.get("reruns", 0) for m in metrics),
                **readiness(scenario.name, readyz, timeline, counted["recovered_after_s"])}


def replies(fake: FakeBotAPI) -> dict[int, list[float]]:
    by_chat: dict[int, list[float]] = defaultdict(list)
    for call in list(fake.calls):
        if call.method == "sendMessage" and call.status == 200:
            by_chat[int(call.params["chat_id"])].append(call.at)
    return by_chat


def bot_api_calls(fake: FakeBotAPI, chats: set[int]) -> int:
    return sum(1 for call in list(fake.calls) if _chat(call.params) in chats)


def _chat(params: dict[str, Any]) -> int | None:
    try:
        return int(params.get("chat_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def count(sent: list[Sent], got: dict[int, list[float]], started: float,
          timeline: dict[str, float]) -> dict[str, Any]:
    """Per chat: each acknowledged update owes exactly one sendMessage (users' updates are far apart, answers
    come back in order)."""
    per_chat: dict[int, list[Sent]] = defaultdict(list)
    for item in sent:
        per_chat[item.chat_id].append(item)
    lost = duplicated = answered = 0
    lost_chats: list[int] = []
    fault_begin = started + timeline.get("fault_begin", 0.0)
    fault_end = started + timeline.get("fault_end", 0.0)
    last_affected = fault_end
    before: list[float] = []
    during: list[float] = []  # answers of updates first posted during the fault, counted from its end
    after: list[float] = []  # latency of updates first posted in the 10 s after the fault
    for chat, items in per_chat.items():
        acknowledged = [item for item in items if item.acknowledged is not None]
        times = sorted(got.get(chat, []))
        lost += max(0, len(acknowledged) - len(times))
        duplicated += max(0, len(times) - len(acknowledged))
        answered += min(len(acknowledged), len(times))
        if len(times) < len(acknowledged):
            lost_chats.append(chat)
        for item, at in zip(sorted(acknowledged, key=lambda i: i.first_post), times, strict=False):
            if item.first_post <= fault_end:
                last_affected = max(last_affected, at)
            if at < fault_begin:
                before.append(at - item.first_post)
            elif fault_begin <= item.first_post <= fault_end:
                during.append(at - fault_end)
            elif item.first_post <= fault_end + 10:
                after.append(at - item.first_post)
    return {"updates": len(sent), "acknowledged": sum(1 for item in sent if item.acknowledged is not None),
            "answered": answered, "lost": lost, "duplicated": duplicated, "lost_chats": lost_chats[:10],
            "recovered_after_s": round(last_affected - fault_end, 1),
            # what an answer took before the fault: on a busy machine, part of any recovery time is just this
            "p99_latency_before_fault_s": quantile(before, 0.99),
            "answered_after_fault_end_s": {"p50": quantile(during, 0.5), "p90": quantile(during, 0.9),
                                           "max": quantile(during, 1.0)},
            "p99_latency_after_fault_s": quantile(after, 0.99)}


def quantile(values: list[float], q: float) -> float | None:
    return round(sorted(values)[int(q * (len(values) - 1))], 2) if values else None


async def inbox_counts(url: str, first_id: int, end_id: int, users: list[int]) -> dict[str, Any]:
    from sqlalchemy import text

    from storage.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            states: dict[Any, Any] = dict((await connection.execute(
                text("SELECT status, count(*) FROM inbox_updates WHERE update_id >= :lo AND update_id < :hi "
                     "GROUP BY status"), {"lo": first_id, "hi": end_id})).all())
            errors: dict[Any, Any] = dict((await connection.execute(
                text("SELECT command, count(*) FROM history WHERE status = 'error' AND user_id >= :lo "
                     "AND user_id <= :hi GROUP BY command"), {"lo": min(users), "hi": max(users)})).all())
    finally:
        await engine.dispose()
    return {"processed": int(states.get("done", 0)), "inbox_by_status": {str(k): int(v) for k, v in states.items()},
            "history_errors": {str(k): int(v) for k, v in errors.items()}}


async def scrape(http: aiohttp.ClientSession, port: int) -> dict[str, float]:
    """The replica's own counters: failed attempts to reach each dependency, runs repeated after a fault."""
    try:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as answer:
            body = await answer.text()
    except (TimeoutError, aiohttp.ClientError, OSError):
        return {}
    found: dict[str, float] = defaultdict(float)
    for line in body.splitlines():
        if match := re.match(r'paperbot_dependency_failures_total\{dependency="(\w+)"\} ([\d.e+]+)', line):
            found[match[1]] += float(match[2])
        elif match := re.match(r'paperbot_inbox_retries_total\{reason="\w+"\} ([\d.e+]+)', line):
            found["reruns"] += float(match[1])
    return dict(found)


def readiness(name: str, samples: list[tuple[float, int, dict[str, Any]]],
              timeline: dict[str, float], recovered_after_s: float = 0.0) -> dict[str, Any]:
    """What /readyz said from the fault's start until the bot recovered from it (at least a second after its end,
    where the fault is a moment; an overload's backlog outlasts the burst), and whether it showed what the scenario
    expects."""
    begin = timeline.get("fault_begin", 0.0)
    end = timeline.get("fault_end", 0.0) + max(1.0, recovered_after_s)
    seen: Counter[str] = Counter()
    for at, status, body in samples:
        if begin <= at <= end:
            bad = sorted(key for key, value in body.items()
                         if key not in ("status", "role", "degraded") and value not in ("ok", "at head"))
            seen[f"{status} {body.get('status', 'no answer')} {','.join(bad)}".strip()] += 1
    expected = EXPECTED_READYZ[name]
    reflected = None if expected is None else any(
        label.startswith(str(expected[0])) and expected[1] in label.replace("database", "storage")
        for label in seen)
    if name == "pg_restart" and not reflected:
        reflected = None  # a restart may fall between two probes half a second apart
    back = next((round(at - timeline.get("fault_end", 0.0), 1) for at, status, body in samples
                 if at >= timeline.get("fault_end", 0.0) and status == 200 and body.get("status") == "ready"), None)
    return {"readyz_during_fault": dict(seen.most_common(4)), "readyz_reflected": reflected,
            "readyz_ready_after_s": back}


def errors_in(webs: list[Process]) -> tuple[int, list[str]]:
    lines = [line for web in webs for line in web.output().splitlines()
             if " ERROR " in line or line.startswith("Traceback")]
    return len(lines), [line[:200] for line in lines[:8]]


def targets(result: dict[str, Any]) -> bool:
    if "skipped" in result:
        return False
    return (result["lost"] == 0 and result["duplicated"] == 0 and result["recovered_after_s"] <= 10
            and result["acknowledged"] == result["updates"] and result["readyz_reflected"] is not False)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    bench = Bench(args, workdir)
    names = args.scenario or list(SCENARIOS)
    results: list[dict[str, Any]] = []
    bench.tmpfs_problem = bench.mount_tmpfs() if "disk_full" in names else None
    await asyncio.to_thread(bench.postgres.init)
    bench.redis.start()
    await bench.fake.start()
    await bench.openai.start()
    bench.proxy = await DelayProxy(bench.postgres.port).start()
    try:
        # Scenarios that share replicas run back to back, and each set of replicas stops when its last one is done
        # (fewer processes at once on a shared machine); the report keeps the listed order.
        kinds = {"slow_db": 1, "disk_full": 2}
        for index, name in sorted(enumerate(names), key=lambda pair: kinds.get(pair[1], 0)):
            if bench.stacks and stack_kind(name) not in bench.stacks:
                await bench.close_stacks()
                bench.stacks.clear()
            print(f"--- {name}", flush=True)
            result = await bench.run(index, name)
            result["targets_met"] = targets(result)
            print(json.dumps({k: v for k, v in result.items() if k not in ("error_lines", "lost_chats")}),
                  flush=True)
            results.append(result)
    finally:
        await bench.close_stacks()
        await bench.proxy.stop()
        await bench.fake.stop()
        await bench.openai.stop()
        bench.redis.stop()
        await asyncio.to_thread(bench.postgres.close)
        if bench.tmpfs is not None:
            await asyncio.to_thread(subprocess.run, ["umount", str(bench.tmpfs)], check=False)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    results.sort(key=lambda result: SCENARIOS.index(result["scenario"]))
    return {"scenarios": results, "args": {k: v for k, v in vars(args).items() if k != "json" and v is not None},
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "load_average": os.getloadavg()},
            "when": datetime.now(UTC).isoformat(timespec="seconds")}


COLUMNS = ("scenario", "acknowledged", "processed", "lost", "duplicated", "answered", "recovered_after_s",
           "errors_logged", "bot_api_calls_per_update", "database_failures", "reruns", "readyz_reflected")


def table(report: dict[str, Any]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for result in report["scenarios"]:
        lines.append("| " + " | ".join(str(result.get(column, result.get("skipped", ""))) for column in COLUMNS)
                     + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="run only these (repeatable)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per scenario")
    parser.add_argument("--rate", type=float, default=20.0, help="updates per second offered")
    parser.add_argument("--overload-rate", type=float, default=150.0)
    parser.add_argument("--overload-s", type=float, default=10.0, help="how long the overload rate is offered")
    parser.add_argument("--max-backlog", type=int, default=300, help="INBOX_MAX_BACKLOG of the replicas")
    parser.add_argument("--fault-s", type=float, default=15.0, help="how long each fault lasts")
    parser.add_argument("--outage-s", type=float, default=20.0, help="how long pg_down keeps PostgreSQL stopped")
    parser.add_argument("--settle-s", type=float, default=120.0, help="longest wait for answers after the load")
    parser.add_argument("--quiet-s", type=float, default=3.0, help="wait after the last answer for duplicates")
    parser.add_argument("--tmpfs-mb", type=int, default=48)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="30 s of load at 5/s, faults of 8 s")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.rate, args.fault_s, args.outage_s = 30.0, 5.0, 8.0, 8.0
        args.overload_rate, args.overload_s = 60.0, 8.0
        args.max_backlog = 100
    report = asyncio.run(main_async(args))
    print(table(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if all(result.get("targets_met") for result in report["scenarios"]) else 1


if __name__ == "__main__":
    sys.exit(main())
