"""Apply Alembic migrations programmatically (used by `python -m bot migrate`, app start-up and tests), under a
lock so that processes starting together never race; and tell whether a database is at this code's head."""
import asyncio
import fcntl
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.schema import SchemaItem

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "heads", *, lock_timeout_s: float = 600.0) -> None:
    """Migrate under the migration lock: replicas (or a release job and an all-in-one process) starting together
    run the migrations once, one after the other; the second finds the schema at head and does nothing."""
    async with migration_lock(engine, timeout_s=lock_timeout_s):
        await _run(engine, lambda cfg: command.upgrade(cfg, revision))


# One advisory-lock number for migrations (the digest scheduler has its own, digests/scheduler.py).
MIGRATION_LOCK_KEY = zlib.crc32(b"paperbot:migrations")


class MigrationLockTimeout(RuntimeError):
    pass


@asynccontextmanager
async def migration_lock(engine: AsyncEngine, *, timeout_s: float = 600.0,
                         poll_s: float = 0.2) -> AsyncIterator[None]:
    """PostgreSQL: a session-level advisory lock on its own connection (the server frees it if the process dies).
    SQLite: an exclusive flock on `<database>.migrate.lock` (freed by the kernel if the process dies). Waits up to
    `timeout_s`, polling, so the event loop is never blocked."""
    deadline = time.monotonic() + timeout_s
    url = engine.url
    if url.get_backend_name() == "postgresql":
        async with engine.connect() as connection:
            while not (await connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                                {"key": MIGRATION_LOCK_KEY})).scalar():
                await connection.commit()  # no transaction left open while waiting
                if time.monotonic() > deadline:
                    raise MigrationLockTimeout(f"another process held the migration lock for {timeout_s:.0f} s")
                await asyncio.sleep(poll_s)
            await connection.commit()
            try:
                yield
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                await connection.commit()
        return
    database = url.database
    if not database or database == ":memory:":  # one connection, one process: nothing to race with
        yield
        return
    path = Path(f"{database}.migrate.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Opening the lock file is disk I/O: off the event loop, like the waiting below.
    with await asyncio.to_thread(path.open, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise MigrationLockTimeout(
                        f"another process held the migration lock ({path}) for {timeout_s:.0f} s") from None
                await asyncio.sleep(poll_s)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class SchemaStatus:
    current: frozenset[str]  # revisions recorded in the database (empty: never migrated)
    heads: frozenset[str]  # what this version of the code expects

    @property
    def at_head(self) -> bool:
        return self.current == self.heads

    @property
    def ahead(self) -> frozenset[str]:
        """Revisions the database has that this code does not know (a newer release migrated it)."""
        return self.current - _known_revisions()

    def describe(self) -> str:
        if self.at_head:
            return "schema at head"
        if self.ahead:
            return (f"the database was migrated by a newer release ({', '.join(sorted(self.ahead))}); "
                    "deploy that release or downgrade the database")
        have = ", ".join(sorted(self.current)) or "an empty database"
        return (f"the database schema is not at head ({have}; this release needs {', '.join(sorted(self.heads))}): "
                "run `python -m bot migrate` first")


class SchemaNotAtHead(RuntimeError):
    """Raised by `require_head`: the message says what to run."""


async def require_head(engine: AsyncEngine) -> None:
    """For processes that must not migrate (the `web` and `scheduler` roles): refuse a schema not at head."""
    status = await schema_status(engine)
    if not status.at_head:
        raise SchemaNotAtHead(status.describe())


def script_heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _known_revisions() -> frozenset[str]:
    return frozenset(rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions())


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    """Where the database's schema stands against this code's migrations (a short read, no lock)."""
    async with engine.connect() as connection:
        current = await connection.run_sync(
            lambda sync_connection: MigrationContext.configure(sync_connection).get_current_heads())
    return SchemaStatus(frozenset(current), script_heads())


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    await _run(engine, lambda cfg: command.downgrade(cfg, revision))


async def _run(engine: AsyncEngine, action: Callable[[Config], object]) -> None:
    async with engine.begin() as connection:
        def run(sync_connection: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = sync_connection
            action(cfg)
        await connection.run_sync(run)


# Tables other libraries own in the same database: APScheduler's job store (digests/scheduler.py) creates its own.
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_object(obj: SchemaItem, name: str | None, type_: str, reflected: bool,
                   compare_to: SchemaItem | None) -> bool:
    """Alembic filter: autogenerate compares only our tables, never proposing to drop a foreign one."""
    return not (type_ == "table" and name in FOREIGN_TABLES)
