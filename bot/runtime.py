"""Start-up and shutdown shared by every transport: database (migrated), model hub, dispatcher."""
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_dispatcher, create_hub
from bot.config import Settings
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    dispatcher: Dispatcher
    hub: object


@asynccontextmanager
async def runtime(settings: Settings, *, with_models: bool = True, bot=None):
    """With a `bot` (the real transports), the digest scheduler runs here too, if this process wins its lock."""
    engine = create_engine(settings.database_url)
    await upgrade(engine)  # migrations are applied at every start: a new version never meets an old schema
    sessionmaker = create_sessionmaker(engine)
    hub = create_hub() if with_models else None
    dp = create_dispatcher(settings, sessionmaker, hub)
    scheduler = await start_digest_scheduler(dp, engine, settings, bot) if bot is not None else None
    try:
        yield Runtime(settings, engine, sessionmaker, dp, hub)
    finally:
        if scheduler is not None:
            await scheduler.stop()
        await dp["digests"].close()
        await dp["background"].cancel()
        await dp["imagegen"].close()
        if hub is not None:
            await hub.close()
        await engine.dispose()


async def start_digest_scheduler(dp: Dispatcher, engine: AsyncEngine, settings: Settings, bot):
    from digests.broadcast import Broadcaster
    from digests.scheduler import DigestScheduler

    service = dp["digests"]
    if service.settings.digest_scheduler == "off":
        log.info("digest scheduler disabled here (DIGEST_SCHEDULER=off)")
        return None
    service.broadcaster = Broadcaster(bot, service.sessionmaker, service.settings)
    scheduler = DigestScheduler(service, engine, settings.database_url,
                                fetch_interval_min=service.settings.digest_fetch_interval_min,
                                misfire_grace_s=service.settings.digest_misfire_grace_s)
    await scheduler.start()
    dp["digest_scheduler"] = scheduler
    return scheduler


def remote_model_keys() -> list[str]:
    """API keys of REMOTE_MODELS endpoints (read from the environment variables they name)."""
    import os

    from models.config import ModelSettings

    try:
        remote = ModelSettings().remote_models
    except Exception:  # noqa: BLE001 - bad model settings are reported where models load, not here
        return []
    return [os.environ[m.api_key_env] for m in remote.values()
            if m.api_key_env and len(os.environ.get(m.api_key_env, "")) >= 6]


def setup_logging(level: str, *settings) -> None:
    from bot import redact

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact.install(redact.secrets_of(*settings) + remote_model_keys())
    # aiohttp's access log and aiogram's event log would print every update; keep them at warning.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
