"""The decision half of continuous batching, as vLLM's `Scheduler.schedule()` / `update_from_output()`: pure
bookkeeping, with no thread, event loop, clock or model. `StepPolicy.schedule` takes the waiting queue and the time
and returns a `StepPlan` (rows to admit, rows to drop, rows past their deadline, whether to decode);
`models.batching.StepScheduler` runs the model on the plan and reports back with `retire` (finished rows) or `abort`
(a failed step). Rules and their tests: docs/models.md, "Continuous (step-level) batching"."""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar


class Schedulable(Protocol):
    """A row as the policy sees it: a payload to cost, and its caller's state."""

    @property
    def payload(self) -> Any: ...

    @property
    def cancelled(self) -> bool: ...

    @property
    def deadline(self) -> float | None: ...


R = TypeVar("R", bound=Schedulable)


@dataclass
class StepPlan(Generic[R]):
    """What one step does, in this order: drop, then prefill `admit`, then one decode step if `decode`."""
    admit: list[R] = field(default_factory=list)  # waiting rows to prefill and add to the running batch
    drop: list[R] = field(default_factory=list)  # running rows to remove without output (cancelled or expired)
    expired: list[R] = field(default_factory=list)  # rows (running or waiting) whose callers get a timeout
    decode: bool = False  # the batch has rows after admission: decode those the prefill did not finish


class StepPolicy(Generic[R]):
    """The running batch's bookkeeping: which rows run and the tokens each reserves. Admission is first come, first
    served under `max_rows` rows and `max_tokens` reserved tokens; the head of the queue is never overtaken, and an
    empty batch always takes it, even over the budget, so that no request waits forever."""

    def __init__(self, *, max_rows: int, max_tokens: int, cost: Callable[[Any], int]):
        self.max_rows, self.max_tokens, self.cost = max_rows, max_tokens, cost
        self.running: dict[R, int] = {}  # row → tokens it reserves (a dict keeps admission order)
        self.reserved = 0

    def schedule(self, waiting: deque[R], now: float) -> StepPlan[R]:
        """Decide the next step. Takes admitted and expired rows out of `waiting` (the caller holds its lock)."""
        plan: StepPlan[R] = StepPlan()
        self._evict(plan, now)
        self._expire_waiting(waiting, plan, now)
        self._admit(waiting, plan)
        plan.decode = bool(self.running)
        return plan

    def retire(self, rows: Iterable[R]) -> None:
        """The model finished these rows (update_from_output): their tokens are free for the next admission."""
        for row in rows:
            self._release(row)

    def abort(self) -> list[R]:
        """The step failed and the model forgot its batch: every running row is returned, to be failed."""
        failed = list(self.running)
        self.running.clear()
        self.reserved = 0
        return failed

    def _evict(self, plan: StepPlan[R], now: float) -> None:
        for row in list(self.running):
            late = expired(row, now)
            if row.cancelled or late:
                self._release(row)
                plan.drop.append(row)
            if late and not row.cancelled:
                plan.expired.append(row)

    @staticmethod
    def _expire_waiting(waiting: deque[R], plan: StepPlan[R], now: float) -> None:
        gone = [row for row in waiting if row.cancelled or expired(row, now)]
        if not gone:
            return
        plan.expired += [row for row in gone if not row.cancelled]
        kept = [row for row in waiting if not (row.cancelled or expired(row, now))]
        waiting.clear()
        waiting.extend(kept)

    def _admit(self, waiting: deque[R], plan: StepPlan[R]) -> None:
        while waiting and len(self.running) < self.max_rows:
            cost = self.cost(waiting[0].payload)
            if self.running and self.reserved + cost > self.max_tokens:
                return  # the head waits for room, and nothing behind it may overtake it
            row = waiting.popleft()
            self.running[row] = cost
            self.reserved += cost
            plan.admit.append(row)

    def _release(self, row: R) -> None:
        self.reserved -= self.running.pop(row, 0)


def expired(row: Schedulable, now: float) -> bool:
    return row.deadline is not None and now >= row.deadline
