"""PostgreSQL connections are pinged at checkout only after sitting idle (storage/db.py `IDLE_PING_S`): a connection the
server dropped meanwhile is replaced without failing a statement; one dropped while in use fails one statement as
transient (the inbox reruns its update), and the pool is renewed for the next."""
import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from storage import db
from storage.db import create_engine, is_transient

pytestmark = pytest.mark.postgres


async def _drop_server_side(admin_url: str, pid: int) -> None:
    """What a database restart does to one connection: the server ends its process."""
    admin = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def _backend_pid(engine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_an_idle_connection_the_server_dropped_is_replaced_at_checkout(postgres_url):
    engine = create_engine(postgres_url, pool=db.Pool(size=1, overflow=0, timeout_s=5))
    try:
        pid = await _backend_pid(engine)
        await _drop_server_side(postgres_url, pid)
        await asyncio.sleep(db.IDLE_PING_S + 0.2)  # idle past the window: pinged at the next checkout
        assert await _backend_pid(engine) != pid  # a new connection, and no statement failed
    finally:
        await engine.dispose()


async def test_a_connection_dropped_within_the_window_fails_once_as_transient_then_the_pool_is_renewed(
        postgres_url, monkeypatch):
    monkeypatch.setattr(db, "IDLE_PING_S", 60.0)  # no ping: as under load, where every connection was just used
    engine = create_engine(postgres_url, pool=db.Pool(size=2, overflow=0, timeout_s=5))
    try:
        async with engine.connect() as first, engine.connect() as second:  # two pooled connections
            pids = {int((await c.execute(text("SELECT pg_backend_pid()"))).scalar_one()) for c in (first, second)}
        for pid in pids:
            await _drop_server_side(postgres_url, pid)
        with pytest.raises(Exception) as failure:
            await _backend_pid(engine)
        assert is_transient(failure.value)  # the inbox reruns the update; nothing recorded as failed
        # The disconnect invalidated the whole pool: the other dead connection is not handed out again.
        assert {await _backend_pid(engine) for _ in range(3)}.isdisjoint(pids)
    finally:
        await engine.dispose()
