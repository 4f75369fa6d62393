"""Digest broadcast under Telegram's flood limits, and a crash in the middle of one.

    python bench/broadcast.py [--chats 2000] [--seed 0] [--json OUT]

The fake Bot API (fakes/botapi.py, real HTTP on loopback) enforces Telegram's limits: 30 messages/s overall, 1/s
per chat, 20/min per group, and answers 429 with retry_after=1 beyond them, and at random to 0.5% of requests
(--random-429). A SQLite file in a temporary directory
holds N chats (10% supergroups; 2% have blocked the bot) and one digest issue for each (Hebrew, Persian and English
HTML; every 50th is long enough to be split in two). The broadcaster runs with the default DigestSettings through
the app's own Bot (bot.app.create_bot):
  (a) clean: one run; messages/s, 429s, and per message lost (a part that never arrived) and duplicated;
  (b) crash: the same on a fresh database, cancelled once half of the messages arrived, then a new Broadcaster
      resumes; lost and duplicated again (rows caught in flight end `unknown`: at most once, never resent).
Prints a table; --json writes the same numbers."""
import argparse
import asyncio
import json
import logging
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

# The project root is importable from anywhere through the editable install (scripts/setup.sh).
from bot.app import create_bot
from bot.config import AppSettings
from chatkit.render import split_message
from digests.broadcast import Broadcaster, BroadcastReport
from fakes.botapi import FakeBotAPI, FloodLimits
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade
from storage.repo.core import upsert_chat
from storage.repo.digest import add_issue, delivery_states, ensure_deliveries

TOKEN = "123456:AAHbenchBroadcastToken_0123456789abcdef"
TELEGRAM_LIMITS = dict(per_second=30, per_chat_per_second=1, per_group_per_minute=20, retry_after=1)
ENTRY = ("<b>{n}. \u2068Small Language Models\u2069</b> — מאמר על דליפה סמנטית; "
         "<a href=\"https://arxiv.org/abs/2408.{n:05d}\">خلاصه به فارسی</a> &amp; <i>notes &lt;v2&gt;</i>\n")


def world(chats: int, seed: int) -> list[tuple[int, str, bool, str]]:
    """(chat id, type, blocked, digest) for every chat: a seeded 10% groups, 2% blocked."""
    rng = random.Random(seed)
    rows = []
    for index in range(chats):
        group = rng.random() < 0.10
        chat_id = -(1_000_000_000 + index) if group else 500_000 + index
        entries = 40 if index % 50 == 49 else 4  # 40 entries: over 4096 UTF-16 units, two parts
        text = f"<b>Digest #{index}</b>\n" + "".join(ENTRY.format(n=n) for n in range(entries))
        rows.append((chat_id, "supergroup" if group else "private", rng.random() < 0.02, text))
    return rows


async def prepare(url: str, chats: list[tuple[int, str, bool, str]]) -> tuple:
    engine = create_engine(url)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        for chat_id, chat_type, _, _ in chats:
            await upsert_chat(session, chat_id=chat_id, type=chat_type, title=None)
        for index, (chat_id, _, _, text) in enumerate(chats):
            issue = await add_issue(session, subscription_id=None, period=f"bench-{index}", papers=[], text=text)
            await ensure_deliveries(session, issue.id, [chat_id])
    return engine, sessionmaker


def tally(fake: FakeBotAPI, chats: list[tuple[int, str, bool, str]]) -> dict:
    """Per message: expected parts that never arrived (lost), and arrivals beyond the first or of a text the chat
    was never meant to get (duplicated)."""
    arrived = Counter(fake.delivered)
    expected = {(chat_id, part) for chat_id, _, blocked, text in chats if not blocked for part in split_message(text)}
    return {"expected_messages": len(expected), "arrived_messages": len(fake.delivered),
            "lost": sum(arrived[message] == 0 for message in expected),
            "duplicated": sum(count - (message in expected) for message, count in arrived.items()),
            "http_429": sum(call.status == 429 for call in fake.calls_to("sendMessage"))}


async def states(sessionmaker) -> dict[str, int]:
    async with sessionmaker() as session:
        return await delivery_states(session)


async def one_run(config: AppSettings, tmp: Path, name: str, chats: list, crash_at: float | None,
                  random_429: float = 0.0) -> dict:
    engine, sessionmaker = await prepare(f"sqlite+aiosqlite:///{tmp / (name + '.sqlite3')}", chats)
    settings = config.digests
    try:
        async with FakeBotAPI(limits=FloodLimits(**TELEGRAM_LIMITS)) as fake:
            fake.blocked_chats.update(chat_id for chat_id, _, blocked, _ in chats if blocked)
            fake.random_429_rate = random_429  # 429s Telegram sends for its own reasons, within the limits too
            bot = create_bot(config.updated(telegram_api_base=fake.base_url).bot)
            try:
                started = time.perf_counter()
                reports: list[BroadcastReport] = []
                crashed = False  # the first broadcaster really was cancelled mid-run (not finished before)
                if crash_at is not None:
                    expected = sum(len(split_message(text)) for _, _, blocked, text in chats if not blocked)
                    crashing = asyncio.create_task(Broadcaster(bot, sessionmaker, settings).run())
                    while len(fake.delivered) < expected * crash_at and not crashing.done():
                        await asyncio.sleep(0.005)
                    crashing.cancel()
                    try:
                        reports.append(await crashing)  # finished before the crash came (tiny --chats)
                    except asyncio.CancelledError:
                        crashed = True
                reports.append(await Broadcaster(bot, sessionmaker, settings).run())
                seconds = time.perf_counter() - started
            finally:
                await bot.session.close()
            result = tally(fake, chats)
        result.update(crashed=crashed, seconds=round(seconds, 2),
                      msg_per_s=round(result["arrived_messages"] / seconds, 1), report=reports[-1].as_dict(),
                      states=await states(sessionmaker))
        return result
    finally:
        await engine.dispose()


async def run(chats: int, seed: int = 0, random_429: float = 0.005) -> dict:
    rows = world(chats, seed)
    # The default settings (no `.env`): the benchmark measures the shipped limits.
    config = AppSettings.load(env_file=None, bot_token=TOKEN)
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
        clean = await one_run(config, Path(tmp), "clean", rows, None, random_429)
        crash = await one_run(config, Path(tmp), "crash", rows, 0.5, random_429)
    settings = config.digests
    return {
        "chats": chats, "groups": sum(chat_type != "private" for _, chat_type, _, _ in rows),
        "blocked": sum(blocked for *_, blocked, _ in rows), "messages": clean["expected_messages"],
        "msg_per_s": clean["msg_per_s"], "lost": clean["lost"], "duplicated": clean["duplicated"],
        "retry_after_429s": clean["http_429"], "seconds": clean["seconds"],
        "crash_lost": crash["lost"], "crash_duplicated": crash["duplicated"],
        "crash_unknown": crash["states"].get("unknown", 0), "crash_retry_after_429s": crash["http_429"],
        "crashed": crash["crashed"],
        "crash_seconds": crash["seconds"], "random_429_rate": random_429, "clean": clean, "crash": crash, "seed": seed,
        "limits": TELEGRAM_LIMITS, "settings": {name: getattr(settings, name) for name in (
            "broadcast_per_second", "broadcast_per_chat_interval_s", "broadcast_group_per_minute",
            "broadcast_retries", "broadcast_concurrency")},
        "python": platform.python_version(), "machine": platform.machine()}


def print_table(report: dict) -> None:
    print(f"{report['chats']} chats ({report['groups']} groups, {report['blocked']} blocked), "
          f"{report['messages']} messages; fake Bot API limits {report['limits']}")
    print(f"{'run':<14} {'seconds':>8} {'msg/s':>6} {'429s':>5} {'lost':>5} {'dup':>4} {'unknown':>8}  states")
    for name, label in (("clean", "clean"), ("crash", "crash+resume")):
        row = report[name]
        print(f"{label:<14} {row['seconds']:>8.1f} {row['msg_per_s']:>6.1f} {row['http_429']:>5} {row['lost']:>5} "
              f"{row['duplicated']:>4} {row['states'].get('unknown', 0):>8}  {row['states']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=2000, help="chats, one issue each (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random-429", type=float, default=0.005,
                        help="share of requests the fake answers 429 at random, besides its flood limits (0.005)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")  # the 429s, if any
    report = asyncio.run(run(args.chats, args.seed, args.random_429))
    print_table(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
