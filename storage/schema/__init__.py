"""ORM tables. Every module in this package is imported here, so `Base.metadata` always holds every
feature's tables (Alembic autogenerate and the tests rely on that)."""
import importlib
import pkgutil

from storage.schema.base import Base

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Base"]
