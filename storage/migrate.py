"""Apply Alembic migrations programmatically (used by `python -m bot migrate`, app start-up and tests)."""
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    await _run(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    await _run(engine, lambda cfg: command.downgrade(cfg, revision))


async def _run(engine: AsyncEngine, action) -> None:
    async with engine.begin() as connection:
        def run(sync_connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = sync_connection
            action(cfg)
        await connection.run_sync(run)


# Tables other libraries own in the same database: APScheduler's job store (digests/scheduler.py) creates its own.
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic filter: autogenerate compares only our tables, never proposing to drop a foreign one."""
    return not (type_ == "table" and name in FOREIGN_TABLES)
