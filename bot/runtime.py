"""Start-up and shutdown shared by every transport: database (migrated), model hub, dispatcher."""
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_dispatcher, create_hub
from bot.config import AppSettings
from models.config import EnvSettings, ModelSettings
from storage.db import create_engine, create_sessionmaker
from storage.migrate import require_head, upgrade

if TYPE_CHECKING:
    from digests.scheduler import DigestScheduler
    from models.hub import ModelHub

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: AppSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    dispatcher: Dispatcher
    hub: "ModelHub | None"


@asynccontextmanager
async def runtime(settings: AppSettings, *, with_models: bool = True, bot: Bot | None = None,
                  migrate: bool = True) -> AsyncIterator[Runtime]:
    """With a `bot` (the real transports), the digest scheduler runs here too, if this process wins its lock.
    `migrate=False` (the web and scheduler roles, bot/roles.py): the schema must already be at head, else
    `storage.migrate.SchemaNotAtHead` says to run `python -m bot migrate`."""
    from bot import redact

    redact.install_on_loop()  # "Task exception was never retrieved" and friends: logged, redacted
    engine = create_engine(settings.bot.database_url, pool=settings.bot.db_pool)
    try:
        if migrate:
            await upgrade(engine)  # all-in-one: migrations are applied at every start (under the migration lock)
        else:
            await require_head(engine)  # replicas never migrate: a release runs `python -m bot migrate` first
    except BaseException:
        await engine.dispose()
        raise
    sessionmaker = create_sessionmaker(engine)
    hub = create_hub(settings.models) if with_models else None
    dp = create_dispatcher(settings, sessionmaker, hub)
    scheduler = await start_digest_scheduler(dp, engine, settings, bot) if bot is not None else None
    try:
        yield Runtime(settings, engine, sessionmaker, dp, hub)
    finally:
        if scheduler is not None:
            await scheduler.stop()
        await dp["digests"].close()
        await dp["jobs"].cancel_all()
        await dp["imagegen"].close()
        if hub is not None:
            await hub.close()
        await engine.dispose()


async def start_digest_scheduler(dp: Dispatcher, engine: AsyncEngine, settings: AppSettings,
                                 bot: Bot) -> "DigestScheduler | None":
    from digests.broadcast import Broadcaster
    from digests.scheduler import DigestScheduler

    service = dp["digests"]
    if settings.digests.digest_scheduler == "off":
        log.info("digest scheduler disabled here (DIGEST_SCHEDULER=off)")
        return None
    service.broadcaster = Broadcaster(bot, service.sessionmaker, settings.digests, translator=service.translator)
    scheduler = DigestScheduler(service, engine, settings.bot.database_url,
                                fetch_interval_min=settings.digests.digest_fetch_interval_min,
                                misfire_grace_s=settings.digests.digest_misfire_grace_s,
                                retry_lock_s=settings.bot.scheduler_lock_retry_s)
    await scheduler.start()
    dp["digest_scheduler"] = scheduler
    return scheduler


def remote_model_keys(settings: ModelSettings) -> list[str]:
    """API keys of REMOTE_MODELS endpoints (resolved with the settings from the variables they name)."""
    return [m.api_key.get_secret_value() for m in settings.remote_models.values()
            if m.api_key is not None and len(m.api_key.get_secret_value()) >= 6]


def setup_logging(level: str, settings: AppSettings) -> None:
    """Logging at `level`, with every secret of every section redacted (bot token, webhook secret, image API
    keys, remote model keys)."""
    from bot import redact

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sections: tuple[EnvSettings, ...] = settings.sections()
    redact.install(redact.secrets_of(*sections) + remote_model_keys(settings.models))
    if settings.bot.log_format == "json":
        from bot.jsonlog import use_json

        use_json()  # after the redaction filter was installed on the same handlers: lines are redacted first
    # aiohttp's access log and aiogram's event log would print every update; keep them at warning.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    from bot.jsonlog import cap_third_party

    cap_third_party()  # aiosqlite's DEBUG lines carry statement parameters (update bodies)
