"""Routers in the order they see updates; the fallback router must stay last."""
import importlib
from functools import lru_cache

from aiogram import Router

from bot.commands import CommandSpec

# Order matters: specific commands first, catch-alls (unknown command, chatter) last.
MODULES = ["errors", "start", "history", "admin", "leak", "spell", "flux", "digest", "fallback"]


@lru_cache(maxsize=1)
def _modules():
    modules = []
    for name in MODULES:
        try:
            modules.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise  # a real missing dependency inside the module: fail loudly
    return modules


def get_routers() -> list[Router]:
    routers = [module.router for module in _modules()]
    for router in routers:
        # Routers are module-level singletons (the aiogram idiom) but a process may build several dispatchers
        # (tests, benchmarks): detach each from the previous one before it is included again.
        parent = router.parent_router
        if parent is not None:
            parent.sub_routers.remove(router)
            router._parent_router = None
    return routers


def all_commands() -> list[CommandSpec]:
    return [spec for module in _modules() for spec in getattr(module, "commands", [])]
