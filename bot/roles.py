"""The process roles of `python -m bot` (docs/operations.md, "Roles, releases and scaling out"):

* `run` — all in one: migrates, handles updates (polling, or a webhook when WEBHOOK_URL is set) and runs the digest
  scheduler if it wins the scheduler lock.
* `web` — updates only: never migrates (refuses a schema not at head), never runs the scheduler; any number of
  replicas share the durable inbox.
* `scheduler` — sources, composition, broadcasting; no updates. One holds the scheduler lock, a second waits
  (`/readyz` 503) and takes over within SCHEDULER_LOCK_RETRY_S.
Every role serves `/metrics`, `/healthz` and `/readyz` and stops on SIGTERM/SIGINT (bot/shutdown.py)."""
from __future__ import annotations

import logging
import sys
from typing import Literal

from bot import metrics
from bot.config import AppSettings
from bot.runtime import runtime
from bot.shutdown import Shutdown
from storage.migrate import SchemaNotAtHead

log = logging.getLogger(__name__)
Role = Literal["run", "web", "scheduler"]
ROLES: tuple[Role, ...] = ("run", "web", "scheduler")


async def run_role(config: AppSettings, role: Role) -> int:
    from bot.app import create_bot
    from bot.transports.telegram import run_polling, run_webhook

    if config.bot.bot_token is None:
        print(f"error: the {role} role needs BOT_TOKEN (from @BotFather)", file=sys.stderr)
        return 2
    if role == "web":
        config = config.updated(digest_scheduler="off")  # whatever DIGEST_SCHEDULER says: updates only
    elif role == "scheduler" and config.digests.digest_scheduler == "off":
        print("error: the scheduler role with DIGEST_SCHEDULER=off would do nothing", file=sys.stderr)
        return 2
    shutdown = Shutdown().install()
    bot = create_bot(config.bot)
    try:
        async with runtime(config, bot=bot, migrate=role == "run") as rt:
            probes = metrics.probes_for(rt.dispatcher, role=role, require_scheduler=role == "scheduler",
                                        accepting=lambda: not shutdown.requested.is_set())
            webhook = role != "scheduler" and bool(config.bot.webhook_url)
            server = None
            if not webhook and config.bot.metrics_port:
                try:
                    server = await metrics.serve(probes, config.bot.metrics_host, config.bot.metrics_port)
                except OSError as error:
                    print(f"error: cannot serve /metrics on {config.bot.metrics_host}:{config.bot.metrics_port} "
                          f"({error.strerror}); set METRICS_PORT to a free port, or 0 for none", file=sys.stderr)
                    return 2
            try:
                if role == "scheduler":
                    log.info("scheduler role: %s", "holding the scheduler lock" if _leader(rt.dispatcher)
                             else "waiting for the scheduler lock")
                    await shutdown.wait()
                elif webhook:
                    await run_webhook(bot, rt.dispatcher, config.bot, shutdown)
                else:
                    await run_polling(bot, rt.dispatcher, config.bot, shutdown)
            finally:
                if server is not None:
                    await server.cleanup()
    except SchemaNotAtHead as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        await bot.session.close()
    log.info("%s role stopped", role)
    return 0


def _leader(dp: object) -> bool:
    scheduler = getattr(dp, "workflow_data", {}).get("digest_scheduler")
    return bool(scheduler is not None and scheduler.running)


__all__ = ["ROLES", "Role", "run_role"]
