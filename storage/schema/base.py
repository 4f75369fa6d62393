"""Declarative base shared by every table of every feature."""
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from chatkit.parsing import clean_text

# Stable constraint names, so Alembic can drop them by name on every backend (SQLite batch mode needs them).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---- the storage boundary: text every database takes (chatkit.parsing.clean_text: NUL dropped, lone surrogates
# replaced) ----
def _storable_parameters(parameters: Any) -> Any:
    if isinstance(parameters, str):
        return clean_text(parameters)
    if isinstance(parameters, dict):
        return {key: _storable_parameters(value) for key, value in parameters.items()}
    if isinstance(parameters, list | tuple):
        return type(parameters)(_storable_parameters(value) for value in parameters)
    return parameters


@event.listens_for(Engine, "before_cursor_execute", retval=True)
def _clean_text_parameters(_connection: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                           _executemany: bool) -> tuple[str, Any]:
    """Every string bound to every statement of every engine (ORM, Core, the upserts, other libraries' tables)
    passes through `clean_text`: one place for every text column, including ones added later."""
    return statement, _storable_parameters(parameters)
