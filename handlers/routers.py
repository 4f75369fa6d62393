"""The feature routers, listed in the order they see updates (docs/architecture.md, "Handlers"): one place that
grep and mypy see, each module imported and its `create_router` called by name."""
from aiogram import Router

from handlers import (
    admin,
    cancel,
    digest,
    digest_votes,
    errors,
    fallback,
    flux,
    guard,
    history,
    inline,
    leak,
    paper,
    profile,
    spell,
    start,
)
from handlers.commands import CommandSpec

# The modules with a `commands` list, in /help order.
FEATURES = (errors, guard, start, history, cancel, admin, leak, spell, flux, paper, inline, digest, profile,
            digest_votes, fallback)


def all_commands() -> list[CommandSpec]:
    return [spec for module in FEATURES for spec in module.commands]


def get_routers() -> list[Router]:
    """Fresh routers, in order, for one Dispatcher: a process may build several (tests, benchmarks), and a router
    belongs to one parent, so each feature module builds its router in `create_router()`. Order matters: the
    errors router first, then the guard (refuses commands the sender may not run, handlers/filters.py), specific
    commands, and the catch-alls (unknown command, chatter) last."""
    specs = all_commands()
    return [
        errors.create_router(),
        guard.create_router(specs),
        inline.create_router(),  # before start: its /start leak-… deep link
        start.create_router(specs),
        history.create_router(),
        cancel.create_router(),
        admin.create_router(),
        leak.create_router(),
        spell.create_router(),
        flux.create_router(),
        paper.create_router(),
        digest.create_router(),
        profile.create_router(),
        digest_votes.create_router(),
        fallback.create_router(),
    ]
