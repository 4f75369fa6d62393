"""Alembic on SQLite and PostgreSQL: empty → heads → base, and the ORM (every feature's tables) matches heads.

Generic over branches: every feature adds its own revision from 0001_core, so the test speaks of heads and base,
never of a revision name."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from storage.db import create_engine
from storage.migrate import alembic_config, downgrade, include_object, upgrade
from storage.schema import Base


def _tables(sync_connection) -> set[str]:
    return set(inspect(sync_connection).get_table_names())


def _diff(sync_connection) -> list:
    context = MigrationContext.configure(sync_connection, opts={"compare_type": True,
                                                                "compare_server_default": False,
                                                                "include_object": include_object})
    return compare_metadata(context, Base.metadata)


def _current_heads(sync_connection) -> set[str]:
    return set(MigrationContext.configure(sync_connection).get_current_heads())


@pytest.fixture
async def engine(database_url):
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def test_upgrade_to_heads_matches_the_orm_and_downgrade_to_base_empties(engine):
    script = ScriptDirectory.from_config(alembic_config())
    heads = set(script.get_heads())
    async with engine.connect() as connection:
        assert await connection.run_sync(_tables) == set()

    await upgrade(engine)
    async with engine.connect() as connection:
        assert await connection.run_sync(_current_heads) == heads
        assert await connection.run_sync(_tables) == set(Base.metadata.tables) | {"alembic_version"}
        diff = await connection.run_sync(_diff)
    assert diff == [], "the ORM and the migrations disagree (autogenerate would emit):\n" + "\n".join(map(str, diff))
    async with engine.begin() as connection:  # the digest scheduler's job store shares the database
        await connection.exec_driver_sql("CREATE TABLE apscheduler_jobs (id VARCHAR(191) PRIMARY KEY)")
    async with engine.connect() as connection:
        assert await connection.run_sync(_diff) == []
    async with engine.begin() as connection:
        await connection.exec_driver_sql("DROP TABLE apscheduler_jobs")

    await upgrade(engine)  # idempotent: a restart re-runs it
    await downgrade(engine)
    async with engine.connect() as connection:
        assert await connection.run_sync(_current_heads) == set()
        assert await connection.run_sync(_tables) <= {"alembic_version"}

    await upgrade(engine)  # and back up again: downgrades leave nothing behind that blocks a new upgrade
    async with engine.connect() as connection:
        assert await connection.run_sync(_current_heads) == heads


def test_every_branch_starts_from_core():
    script = ScriptDirectory.from_config(alembic_config())
    assert list(script.get_bases()) == ["0001_core"]
