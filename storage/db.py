"""Async engine and session factory. SQLite gets WAL mode and a busy timeout; PostgreSQL uses asyncpg.

Transactions are short: an update's session commits before any slow work (`released`), so a connection is checked out
of the pool only while SQL runs, never while a model, an embedder or an image API works (docs/architecture.md,
"Transactions")."""
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry


@dataclass(frozen=True)
class Pool:
    """The connection pool of one engine (bot settings DB_POOL_SIZE, DB_MAX_OVERFLOW, DB_POOL_TIMEOUT_S): `size`
    connections kept open, up to `overflow` more opened under load, and how long a checkout waits for a free one
    before it fails. The defaults are SQLAlchemy's own."""
    size: int = 5
    overflow: int = 10
    timeout_s: float = 30.0


def create_engine(url: str, *, echo: bool = False, pool: Pool | None = None) -> AsyncEngine:
    """`pool` sizes a file database's or a server's pool; an in-memory SQLite database has one shared connection
    (StaticPool), which a size does not apply to."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        in_memory = not parsed.database or parsed.database == ":memory:"
        if not in_memory:
            Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
        sized = _pool_options(pool) if not in_memory else {}
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, **sized)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, **_pool_options(pool))


def _pool_options(pool: Pool | None) -> dict[str, float]:
    if pool is None:
        return {}
    return {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout_s}


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers run beside the writer; foreign keys make ON DELETE CASCADE real.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: rows read before a commit (the update's user and chat, a stored result) stay usable
    # after it without a reload; `released` below commits in the middle of an update.
    return async_sessionmaker(engine, expire_on_commit=False)


def sync_url(url: str) -> str:
    """The same database for synchronous clients (Alembic offline, APScheduler's job store)."""
    parsed = make_url(url)
    driver = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg"}.get(parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False) if driver else url


@asynccontextmanager
async def released(session: AsyncSession | None) -> AsyncIterator[None]:
    """`async with released(session): await slow_work()`: commits what the session has pending, which gives its
    connection back to the pool (and, on SQLite, any write lock) for the duration of the block; the next statement
    after the block begins a new short transaction by itself.

    What is committed here is committed for good, even if the update then fails or its process dies and the inbox
    runs it again, so only writes that a second run repeats harmlessly may come before slow work (upserts, reads).
    The block must not use the session: a statement inside it would check a connection out again for the rest of
    the slow work, which is exactly what this prevents, so that is an error. `None` (a service made without a
    session, for background work) releases nothing."""
    if session is not None and session.in_transaction():
        await session.commit()
    yield
    if session is not None and session.in_transaction():
        raise RuntimeError("the session was used inside released(): the slow work held a connection again")
