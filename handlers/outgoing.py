"""The one per-update context of outgoing Bot API calls (`CallScope`), read by the pipeline in bot/outgoing.py.

One context variable holds one frozen dataclass: where answers go, the call journal's position, the job running.
A task started from an update copies it, so a bench sent minutes later still lands in the asking topic; a change
is a new copy (`scoped`), so a job's changes never leak back into its update. docs/architecture.md draws it."""
from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # both modules read the scope: imported for annotations only
    from handlers.jobs import RunningJob
    from handlers.sending import ReplyTarget


@dataclass
class JournalPosition:
    """Where an inbox update's calls stand in the call journal: its id, whether an earlier run may have sent some
    (`replay`), and the number of the last journaled call (shared by the whole update, hence mutable)."""

    update_id: int
    replay: bool
    seq: int = 0
    # Raises when this run's claim on the update was lost (its lease ran out and another process took it): called
    # before each journaled call, so a stale run sends nothing new (bot/transports/inbox.py sets it).
    fence: Callable[[], Awaitable[None]] | None = None
    # The same check done in the intent's own session instead (PostgreSQL: the journal shares the database with the
    # inbox): this run's claim, (owner, attempt). One checkout before each send instead of two.
    claim: tuple[str, int] | None = None
    lost: bool = False  # set when either check found the claim taken over


@dataclass(frozen=True)
class CallScope:
    """What every outgoing call made now belongs to. Empty outside an update (a digest, a start-up call)."""

    target: ReplyTarget | None = None  # set by ReplyTargetMiddleware: topic + reply for sends to that chat
    journal: JournalPosition | None = None  # set by the inbox for one run of an update; None for a job's own calls
    job: RunningJob | None = None  # the job this code runs in: its first message to its chat is its status message


_EMPTY = CallScope()
_current: contextvars.ContextVar[CallScope] = contextvars.ContextVar("call_scope", default=_EMPTY)


def current_scope() -> CallScope:
    return _current.get()


@contextmanager
def scoped(**changes: Any) -> Iterator[CallScope]:
    """The current scope with `changes` (fields of CallScope) for the code inside the block."""
    token = _current.set(replace(_current.get(), **changes))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def rescope(**changes: Any) -> CallScope:
    """Change the scope for the rest of the current task (a task's own context: nothing to reset)."""
    scope = replace(_current.get(), **changes)
    _current.set(scope)
    return scope
