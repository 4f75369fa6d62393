"""Async engine and session factory. SQLite gets WAL mode and a busy timeout; PostgreSQL uses asyncpg.

Transactions are short: an update's session commits before any slow work (`released`), so a connection is checked out
of the pool only while SQL runs, never while a model, an embedder or an image API works (docs/architecture.md,
"Transactions"). `is_transient` tells a database that is briefly away (restarting, unreachable, locked, full) from a
failure that a retry cannot fix; `Outage` logs such an episode in two lines instead of a traceback per statement."""
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

RECYCLE_S = 1800
# PostgreSQL SQLSTATEs that mean "the server is briefly unavailable or asked to try again": connection exceptions
# (class 08), shutdown and start-up (57P01-57P03), too many connections, serialization failures and deadlocks.
TRANSIENT_SQLSTATES = frozenset({"08000", "08001", "08003", "08004", "08006", "08007", "08P01", "57P01", "57P02",
                                 "57P03", "53300", "40001", "40P01"})
# SQLite errors that pass once another writer finishes or space is freed (never "no such table" and the like).
TRANSIENT_SQLITE = ("database is locked", "database is busy", "database or disk is full", "disk i/o error",
                    "unable to open database file")


def is_transient(error: BaseException) -> bool:
    """Whether `error`, or an error it wraps, is a storage failure that a later retry can succeed after: a dropped or
    refused connection, a server restarting, a pool exhausted under load, SQLite busy or its disk full. A constraint
    violation, a missing table or bad SQL is not: retrying would fail the same way."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _transient_here(current):
            return True
        stack += [current.__cause__, current.__context__, getattr(current, "orig", None)]
    return False


def _transient_here(error: BaseException) -> bool:
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (exc.DisconnectionError, exc.TimeoutError)):  # TimeoutError: the pool had no connection
        return True
    if isinstance(error, (ConnectionError, TimeoutError)):  # refused, reset, broken pipe; a connect timeout
        return True
    if isinstance(error, sqlite3.OperationalError):
        return any(text in str(error).lower() for text in TRANSIENT_SQLITE)
    if getattr(error, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    module = type(error).__module__
    if module.startswith("asyncpg"):
        from asyncpg import exceptions as pg

        if isinstance(error, (pg.PostgresConnectionError, pg.CannotConnectNowError, pg.AdminShutdownError,
                              pg.CrashShutdownError, pg.TooManyConnectionsError)):
            return True
        if isinstance(error, pg.InterfaceError):
            return "closed" in str(error).lower()  # "connection is closed", not "another operation is in progress"
    return False


class Outage:
    """One line when a dependency starts failing and one when it answers again, with how long it was away and how
    many failures it caused; nothing in between (a restart of the database used to log a traceback per update)."""

    def __init__(self, logger: logging.Logger, what: str, *, quiet_s: float = 0.0):
        # quiet_s: an episode ends only after this long without a failure (a share of failing calls is one episode)
        self.log, self.what, self.quiet_s = logger, what, quiet_s
        self.since: float | None = None
        self.last_failure = 0.0
        self.failures = 0
        self.reason = ""
        self.episodes = 0

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException | str) -> bool:
        """Count a failure; True (and one warning) when it starts an episode."""
        self.failures += 1
        self.last_failure = time.monotonic()
        self.reason = error if isinstance(error, str) else type(error).__name__
        if self.since is not None:
            return False
        self.since = time.monotonic()
        self.episodes += 1
        self.log.warning("%s unavailable (%s); retrying with backoff, one line when it is back", self.what,
                         self.reason)
        return True

    def ok(self) -> None:
        if self.since is None or time.monotonic() - self.last_failure < self.quiet_s:
            return
        self.log.warning("%s back after %.1f s (%d failures meanwhile)", self.what, time.monotonic() - self.since,
                         self.failures)
        self.since, self.failures = None, 0

    def describe(self) -> str | None:
        """None when fine; else e.g. "unavailable for 12 s (ConnectionRefusedError)" for /readyz."""
        if self.since is None:
            return None
        return f"unavailable for {time.monotonic() - self.since:.0f} s ({self.reason})"


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
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, hide_parameters=True, **sized)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # recycle: no connection outlives a server-side idle timeout or a failover by much. hide_parameters: a failed
    # statement's error (and its logged traceback) never carries the values: an update body, a user's text.
    engine = create_async_engine(url, echo=echo, pool_recycle=RECYCLE_S, hide_parameters=True,
                                 **_pool_options(pool))
    event.listen(engine.sync_engine.pool, "checkin", _checked_in)
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


# A pooled connection is pinged at checkout only when it sat idle this long (HikariCP's aliveBypassWindowMs, 500 ms):
# SQLAlchemy's pool_pre_ping pings at every checkout, and asyncpg's ping is three round trips (BEGIN, a query,
# ROLLBACK): a fifth of a replica's time under load (py-spy, the fault bench's overload). A connection used within
# the window proves itself by that use; if the server restarted meanwhile, its first statement fails as a disconnect,
# SQLAlchemy invalidates the whole pool, and the update is rerun (is_transient): one rerun, not a lost update.
IDLE_PING_S = 0.5


def _checked_in(_dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object) -> None:
    checked_in_at = record.info.get("checked_in_at")
    if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_PING_S:
        return  # new (just connected) or used a moment ago
    try:
        dbapi_connection.ping()  # the asyncpg adapter's: run inside SQLAlchemy's greenlet, so synchronous here
    except Exception as error:
        # The pool drops every connection older than now and retries the checkout with a new one (which raises the
        # real error if the server is still away).
        raise exc.InvalidatePoolError(f"ping failed: {type(error).__name__}") from error


def _pool_options(pool: Pool | None) -> dict[str, float]:
    if pool is None:
        return {}
    return {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout_s}


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers run beside the writer; foreign keys make ON DELETE CASCADE real; secure_delete overwrites
    # deleted rows with zeros, so what /forget deletes does not linger in the file's free space.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


async def truncate_wal(engine: AsyncEngine, busy_ms: int = 2000) -> bool:
    """SQLite only (else a no-op, True): checkpoint the WAL into the database file and truncate it, so the old page
    images it still holds (rows /forget deleted) leave the disk. Waits at most `busy_ms` for readers and writers
    instead of the connections' 30 s, so it never stalls updates for long; False when it could not finish (the
    next checkpoint, and the last connection's close, do it)."""
    if engine.dialect.name != "sqlite":
        return True
    async with engine.connect() as connection:
        await connection.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_ms)}")
        try:
            busy = (await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
        finally:
            await connection.exec_driver_sql("PRAGMA busy_timeout=30000")
    return busy is None or busy[0] == 0


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
