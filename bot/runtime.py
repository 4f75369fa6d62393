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
async def runtime(settings: Settings, *, with_models: bool = True):
    engine = create_engine(settings.database_url)
    await upgrade(engine)  # migrations are applied at every start: a new version never meets an old schema
    sessionmaker = create_sessionmaker(engine)
    hub = create_hub() if with_models else None
    dp = create_dispatcher(settings, sessionmaker, hub)
    try:
        yield Runtime(settings, engine, sessionmaker, dp, hub)
    finally:
        await dp["background"].cancel()
        await dp["imagegen"].close()
        if hub is not None:
            await hub.close()
        await engine.dispose()


def setup_logging(level: str, *settings) -> None:
    from bot import redact

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact.install(redact.secrets_of(*settings))
    # aiohttp's access log and aiogram's event log would print every update; keep them at warning.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
