"""Routers in the order they see updates; the fallback router must stay last."""
import importlib
from collections.abc import Callable
from functools import lru_cache
from types import ModuleType

from aiogram import Router

from bot.commands import CommandSpec

# Order matters: specific commands first, catch-alls (unknown command, chatter) last.
# "guard" refuses commands the sender may not run (bot/filters.py) before any feature sees them.
MODULES = ["errors", "guard", "start", "history", "cancel", "admin", "leak", "spell", "flux", "digest", "digest_votes",
           "fallback"]


@lru_cache(maxsize=1)
def _modules() -> list[ModuleType]:
    modules = []
    for name in MODULES:
        try:
            modules.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise  # a real missing dependency inside the module: fail loudly
    return modules


def get_routers() -> list[Router]:
    """Fresh routers, in order, for one Dispatcher: a process may build several (tests, benchmarks), and a router
    belongs to one parent, so each feature module builds its routers in `create_router()`."""
    factories: list[Callable[[], Router]] = [module.create_router for module in _modules()]
    return [factory() for factory in factories]


def all_commands() -> list[CommandSpec]:
    return [spec for module in _modules() for spec in getattr(module, "commands", [])]
