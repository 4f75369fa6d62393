"""`python -m bot run | web | scheduler | console | migrate` (the roles: bot/roles.py)."""
import argparse
import asyncio
import datetime
import json
import os
import sys

from bot.config import AppSettings, SettingsError
from bot.runtime import setup_logging

TOKEN_HINT = ("No BOT_TOKEN set: get one from @BotFather in Telegram (/newbot) and put it in .env; "
              "starting the offline console instead.")


def fatal(line: str) -> int:
    """A start-up error as one line on stderr (a JSON object with LOG_FORMAT=json, read from the environment: the
    settings may be what failed), redacted; exit status 2."""
    from bot import redact

    line = redact.redact(line)
    if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
        line = json.dumps({"ts": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
                           "level": "CRITICAL", "logger": "bot", "message": line}, ensure_ascii=False)
    print(line, file=sys.stderr, flush=True)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="all in one: migrate, then long polling or a webhook server (WEBHOOK_URL), and "
                              "the digest scheduler if this process wins its lock")
    sub.add_parser("web", help="updates only (webhook, or polling for one replica); needs the schema at head")
    sub.add_parser("scheduler", help="digest sources, composition and broadcasting only; one holds the lock, "
                                     "others wait to take over")
    console = sub.add_parser("console", help="offline terminal chat through the real dispatcher and database")
    console.add_argument("--user-id", type=int, default=1, help="simulated Telegram user id (default 1)")
    console.add_argument("--lang", default="en", help="simulated Telegram language_code (en, ru, fa, he, …)")
    console.add_argument("--chat", choices=["private", "group"], default="private", help="simulated chat type")
    console.add_argument("--admin", action="store_true", help="make the simulated user a bot admin")
    console.add_argument("--stay", type=float, default=0.0, metavar="SECONDS",
                         help="keep running this long after the input ends (to watch scheduled digests arrive)")
    migrate = sub.add_parser("migrate", help="apply database migrations under a lock (a release step; `run` "
                                             "also migrates at every start)")
    migrate.add_argument("revision", nargs="?", default="heads")
    args = parser.parse_args(argv)
    from bot import redact

    # Before any setting is parsed: a setting that fails to parse (or any traceback, warning or print) must not
    # print a secret, so secrets known by name are redacted from every exit from here on.
    redact.install_early()

    # The one settings object of the process: every section validated now (a bad value stops the start with one
    # line naming the setting, not a traceback later), then passed down.
    try:
        settings = AppSettings.load()
    except SettingsError as error:
        return fatal(str(error.code))
    from bot.jsonlog import progress_bars_off_unless_terminal

    progress_bars_off_unless_terminal()
    # Every secret of every section is redacted from logs (bot token, webhook secret, image API keys).
    setup_logging(settings.bot.log_level.upper() if args.command != "console" else "WARNING", settings)
    if settings.bot.log_format == "json":
        from bot.jsonlog import json_excepthook

        json_excepthook()  # a traceback that reaches the top is one JSON line too
    if args.command == "migrate":
        return asyncio.run(_migrate(settings, args.revision))
    if args.command == "console":
        return asyncio.run(_console(settings, args))
    if settings.bot.bot_token is None and args.command == "run":
        print(TOKEN_HINT, file=sys.stderr)
        return asyncio.run(_console(settings, argparse.Namespace(user_id=1, lang="en", chat="private", admin=True,
                                                                 stay=0.0)))
    from bot.roles import run_role

    return asyncio.run(run_role(settings, args.command))


async def _migrate(settings: AppSettings, revision: str) -> int:
    from storage.db import create_engine
    from storage.migrate import upgrade

    engine = create_engine(settings.bot.database_url)
    await upgrade(engine, revision)
    await engine.dispose()
    print(f"database at {revision}")
    return 0


async def _console(settings: AppSettings, args: argparse.Namespace) -> int:
    from bot.transports.console import run_console

    return await run_console(settings, user_id=args.user_id, language=args.lang, chat_type=args.chat,
                             admin=args.admin, stay=args.stay)


if __name__ == "__main__":
    sys.exit(main())
