"""INSERT … ON CONFLICT DO UPDATE for the two dialects we support, so concurrent updates never race."""
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def upsert(session: AsyncSession, table, values: dict[str, Any], *, key: str | tuple[str, ...],
                 update: list[str]) -> None:
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[key] if isinstance(key, str) else list(key), set_={name: statement.excluded[name] for name in update}
    )
    await session.execute(statement)
