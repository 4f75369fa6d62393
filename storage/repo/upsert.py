"""INSERT … ON CONFLICT DO UPDATE for the two dialects we support, so concurrent updates never race."""
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import FromClause, TableClause


async def upsert(session: AsyncSession, table: FromClause, values: dict[str, Any], *, key: str | tuple[str, ...],
                 update: list[str]) -> None:
    # Declarative models type `__table__` as a FromClause; at run time it is always a Table (a TableClause).
    if not isinstance(table, TableClause):
        raise TypeError(f"upsert needs a table, got {type(table).__name__}")
    index_elements = [key] if isinstance(key, str) else list(key)
    # The session is always bound to one engine (storage/db.py); a missing bind is a wiring bug, not a dialect.
    if session.bind is None:
        raise RuntimeError("upsert needs a session bound to an engine")
    if session.bind.dialect.name == "postgresql":
        pg_statement = postgresql.insert(table).values(**values)
        await session.execute(pg_statement.on_conflict_do_update(
            index_elements=index_elements, set_={name: pg_statement.excluded[name] for name in update}))
    else:
        lite_statement = sqlite.insert(table).values(**values)
        await session.execute(lite_statement.on_conflict_do_update(
            index_elements=index_elements, set_={name: lite_statement.excluded[name] for name in update}))
