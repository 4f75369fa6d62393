"""Migrations as a release step: concurrent migrators run one at a time (PostgreSQL advisory lock, SQLite file
lock), and a process can tell whether the schema is at this code's head."""
import asyncio

import pytest

from storage.db import create_engine
from storage.migrate import MigrationLockTimeout, migration_lock, schema_status, script_heads, upgrade


async def test_replicas_migrating_together_both_succeed(database_url):
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        before = await schema_status(engines[0])
        assert not before.at_head and before.current == frozenset()
        assert "python -m bot migrate" in before.describe()
        # Without the lock these race: CREATE TABLE twice / two rows in alembic_version.
        await asyncio.gather(*(upgrade(engine) for engine in engines))
        after = await schema_status(engines[1])
        assert after.at_head and after.current == script_heads() and after.describe() == "schema at head"
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_held_lock_makes_the_next_migrator_wait_then_time_out(database_url):
    holder, waiter = create_engine(database_url), create_engine(database_url)
    try:
        async with migration_lock(holder):
            with pytest.raises(MigrationLockTimeout):
                await upgrade(waiter, lock_timeout_s=0.5)
            assert not (await schema_status(waiter)).at_head  # nothing ran while the lock was held
        await upgrade(waiter, lock_timeout_s=5)  # released: it goes through
        assert (await schema_status(waiter)).at_head
    finally:
        await holder.dispose()
        await waiter.dispose()


async def test_unknown_revision_in_the_database_is_a_newer_release(database_url):
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.begin() as connection:
            await connection.exec_driver_sql("INSERT INTO alembic_version (version_num) VALUES ('9999_future')")
        status = await schema_status(engine)
        assert not status.at_head and status.ahead == frozenset({"9999_future"})
        assert "newer release" in status.describe()
    finally:
        await engine.dispose()
