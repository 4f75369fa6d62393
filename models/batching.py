"""Request queues served by one worker thread each, so model work never runs on the event loop.

Two schedulers share the caller side (`submit`, capacity, timeout, cancellation, `close`): `BatchQueue` runs
one-shot batches (embeddings) of up to `max_batch` rows; `StepScheduler` does step-level ("continuous") batching for
autoregressive decoding, in the manner of vLLM's scheduler and TGI's router. Its decisions (admission under a row
limit and a token budget, first come first served; cancelled and timed-out rows leaving at the next step) are the
pure `models.scheduling.StepPolicy`; this module runs the model on each plan and delivers the results.
Callers on any event loop `await submit(rows)`; results come back on the caller's own loop (docs/models.md)."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from models.errors import EngineBusy, EngineClosed, RequestTimeout
from models.scheduling import StepPlan, StepPolicy

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Ticket:
    """One caller's request: several rows, one future."""
    rows: list[Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[Any]]
    timeout: float | None = None
    deadline: float | None = None  # time.monotonic() after which the worker drops the rows (StepScheduler)
    results: list[Any] = field(default_factory=list)
    remaining: int = 0
    cancelled: bool = False
    started: bool = False

    def __post_init__(self) -> None:
        self.results = [None] * len(self.rows)
        self.remaining = len(self.rows)


@dataclass(eq=False)  # identity semantics: rows are tracked in sets
class Row:
    ticket: Ticket
    index: int
    payload: Any

    @property
    def cancelled(self) -> bool:
        return self.ticket.cancelled

    @property
    def deadline(self) -> float | None:
        return self.ticket.deadline


class _Queue:
    """The caller side shared by both schedulers: bounded admission, timeouts, cancellation, shutdown."""

    def __init__(self, *, capacity: int, name: str, setup: Callable[[], None] | None = None):
        self.capacity, self.name, self.setup = capacity, name, setup
        self._pending: deque[Row] = deque()
        self._waiting_tickets = 0  # tickets with no row started yet: what the capacity bounds
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._setup_error: BaseException | None = None

    # ---------- caller side (event loop) ----------
    def start(self) -> None:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run_worker, name=f"engine-{self.name}", daemon=True)
                self._thread.start()

    async def ready(self) -> None:
        """Wait (without blocking the loop) until the worker has loaded its model."""
        self.start()
        await asyncio.get_running_loop().run_in_executor(None, self._ready.wait)
        if self._setup_error is not None:
            raise self._setup_error

    @property
    def queued(self) -> int:
        return self._waiting_tickets

    async def submit(self, payloads: Sequence[Any], timeout: float | None = None) -> list[Any]:
        if not payloads:
            return []
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else time.monotonic() + timeout
        ticket = Ticket(list(payloads), loop, loop.create_future(), timeout, deadline)
        with self._cond:
            if self._closed:
                raise EngineClosed(self.name)
            if self._waiting_tickets >= self.capacity:
                raise EngineBusy(position=self._waiting_tickets + 1, capacity=self.capacity)
            self._waiting_tickets += 1
            self._pending.extend(Row(ticket, i, payload) for i, payload in enumerate(ticket.rows))
            self._cond.notify()
        self.start()
        try:
            return await asyncio.wait_for(asyncio.shield(ticket.future), timeout)
        except TimeoutError:
            self._cancel(ticket)
            raise RequestTimeout(timeout or 0.0) from None
        except asyncio.CancelledError:
            self._cancel(ticket)
            raise

    def _cancel(self, ticket: Ticket) -> None:
        with self._cond:
            ticket.cancelled = True
            before = len(self._pending)
            self._pending = deque(row for row in self._pending if row.ticket is not ticket)
            if before != len(self._pending) and not ticket.started:
                self._waiting_tickets -= 1
            self._cond.notify()  # running rows of this ticket leave at the worker's next step
        if not ticket.future.done():
            ticket.future.cancel()

    async def close(self, *, drain: bool = True, timeout: float = 30.0) -> None:
        """Stop accepting work; finish what is queued (drain) or fail it with EngineClosed. Rows already running
        finish either way."""
        with self._cond:
            self._closed = True
            if not drain:
                for row in self._pending:
                    row.ticket.cancelled = True
                    self._resolve(row.ticket, exception=EngineClosed(self.name))
                self._pending.clear()
                self._waiting_tickets = 0
            self._cond.notify_all()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, timeout)

    # ---------- worker side (thread) ----------
    def _run_worker(self) -> None:
        try:
            if self.setup is not None:
                self.setup()
        except BaseException as error:  # reported to every caller
            self._setup_error = error
            log.exception("engine %s failed to load", self.name)
        finally:
            self._ready.set()
        self._work()

    def _work(self) -> None:
        raise NotImplementedError

    def _wait_for_company(self, rows: int, max_wait_s: float) -> None:
        """Under the lock: wait up to `max_wait_s` until `rows` rows are queued, so rows arriving together share
        one batch (or one prefill)."""
        deadline = time.monotonic() + max_wait_s
        while len(self._pending) < rows and not self._closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._cond.wait(left)

    def _start_row(self, row: Row) -> None:
        """Called under the lock when a row leaves the queue for the model."""
        if not row.ticket.started:
            row.ticket.started = True
            self._waiting_tickets -= 1

    def _complete(self, row: Row, output: Any) -> None:
        ticket = row.ticket
        ticket.results[row.index] = output
        ticket.remaining -= 1
        if ticket.remaining == 0:
            self._resolve(ticket, result=ticket.results)

    @staticmethod
    def _resolve(ticket: Ticket, result: Any = None, exception: BaseException | None = None) -> None:
        def settle() -> None:
            if ticket.future.done():
                return
            if exception is not None:
                ticket.future.set_exception(exception)
            else:
                ticket.future.set_result(result)

        try:
            ticket.loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the caller's loop is closed: nobody is waiting any more
            pass


class BatchQueue(_Queue):
    """One-shot batches: `process(rows) -> outputs` for up to `max_batch` rows at a time."""

    def __init__(self, process: Callable[[list[Row]], list[Any]], *, max_batch: int, max_wait_s: float,
                 capacity: int, name: str, setup: Callable[[], None] | None = None):
        super().__init__(capacity=capacity, name=name, setup=setup)
        self.process = process
        self.max_batch, self.max_wait_s = max_batch, max_wait_s
        self.batches_run = 0
        self.rows_run = 0

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if self._setup_error is not None:
                for row in batch:
                    self._resolve(row.ticket, exception=self._setup_error)
                continue
            live = [row for row in batch if not row.cancelled]
            if not live:
                continue
            try:
                outputs = self.process(live)
            except BaseException as error:  # the batch fails, the worker lives on
                log.exception("engine %s batch failed", self.name)
                for row in live:
                    self._resolve(row.ticket, exception=error)
                continue
            self.batches_run += 1
            self.rows_run += len(live)
            for row, output in zip(live, outputs, strict=True):
                self._complete(row, output)

    def _next_batch(self) -> list[Row] | None:
        with self._cond:
            while not self._pending:
                if self._closed:
                    return None
                self._cond.wait()
            self._wait_for_company(self.max_batch, self.max_wait_s)
            batch: list[Row] = []
            while self._pending and len(batch) < self.max_batch:
                row = self._pending.popleft()
                self._start_row(row)
                batch.append(row)
            return batch


class StepModel(Protocol):
    """What `StepScheduler` drives: a model that keeps the running batch's state (its KV cache) between steps.
    Every method runs on the worker thread. Finished rows are returned with their output and are already gone
    from the model's state."""

    def cost(self, payload: Any) -> int:
        """Tokens a row reserves while it runs (its KV cache bound: prompt + max new tokens)."""
        ...

    def admit(self, rows: list[Row]) -> list[tuple[Row, Any]]:
        """Prefill `rows` and add them to the running batch; rows that already finished (at their first token)
        come back at once."""
        ...

    def step(self) -> list[tuple[Row, Any]]:
        """One decode step for every running row; returns the rows it finished."""
        ...

    def drop(self, rows: list[Row]) -> None:
        """Remove running rows without output (their caller cancelled or timed out)."""
        ...

    def reset(self) -> None:
        """Forget the whole running batch (after a failed step)."""
        ...


class StepScheduler(_Queue):
    """Continuous batching: `policy` decides each step (under the lock), the worker runs the model on the plan and
    applies the results. When nothing is running it waits up to `max_wait_s` for company, so requests arriving
    together share one prefill; once rows run, newcomers join at the next step without waiting."""

    def __init__(self, model: StepModel, *, max_rows: int, max_tokens: int, max_wait_s: float, capacity: int,
                 name: str, setup: Callable[[], None] | None = None):
        super().__init__(capacity=capacity, name=name, setup=setup)
        self.model = model
        self.max_wait_s = max_wait_s
        self.policy: StepPolicy[Row] = StepPolicy(max_rows=max_rows, max_tokens=max_tokens, cost=model.cost)
        self.admissions = 0  # prefill calls
        self.steps = 0  # decode steps
        self.rows_run = 0  # rows finished with an output
        self.peak_rows = 0

    @property
    def running(self) -> int:
        return len(self.policy.running)

    @property
    def reserved_tokens(self) -> int:
        return self.policy.reserved

    def _work(self) -> None:
        while (plan := self._next_plan()) is not None:
            self._apply(plan)

    # ---------- decide (under the lock) ----------
    def _next_plan(self) -> StepPlan[Row] | None:
        """Wait for work, then let the policy decide the step; None once closed and idle."""
        with self._cond:
            while not self._pending and not self.policy.running:
                if self._closed:
                    return None
                self._cond.wait()
            if not self.policy.running and self.max_wait_s > 0:
                self._wait_for_company(self.policy.max_rows, self.max_wait_s)
            plan = self.policy.schedule(self._pending, time.monotonic())
            self._account(plan)
            return plan

    def _account(self, plan: StepPlan[Row]) -> None:
        """The caller side's counts: admitted rows leave the queue, expired tickets are over."""
        for row in plan.admit:
            self._start_row(row)
        for ticket in {row.ticket for row in plan.expired}:
            ticket.cancelled = True  # its other rows leave too
            if not ticket.started:
                self._waiting_tickets -= 1

    # ---------- apply (the model runs outside the lock) ----------
    def _apply(self, plan: StepPlan[Row]) -> None:
        for ticket in {row.ticket for row in plan.expired}:
            self._resolve(ticket, exception=RequestTimeout(ticket.timeout or 0.0))
        if self._setup_error is not None:
            self._fail(self._abort(), self._setup_error)
            return
        try:
            finished = self._run(plan)
        except BaseException as error:  # the running rows fail, the worker lives on
            log.exception("engine %s step failed", self.name)
            self._recover(error)
            return
        for row, output in finished:
            self.rows_run += 1
            self._complete(row, output)

    def _run(self, plan: StepPlan[Row]) -> list[tuple[Row, Any]]:
        if plan.drop:
            self.model.drop(plan.drop)
        finished: list[tuple[Row, Any]] = []
        if plan.admit:
            self.admissions += 1
            finished += self._retire(self.model.admit(plan.admit))
        if plan.decode and self.policy.running:  # rows that finished at their first token are gone already
            self.peak_rows = max(self.peak_rows, len(self.policy.running))
            self.steps += 1
            finished += self._retire(self.model.step())
        return finished

    def _retire(self, finished: list[tuple[Row, Any]]) -> list[tuple[Row, Any]]:
        with self._cond:
            self.policy.retire(row for row, _ in finished)
        return finished

    def _recover(self, error: BaseException) -> None:
        failed = self._abort()
        try:
            self.model.reset()
        except BaseException:
            log.exception("engine %s reset failed", self.name)
        self._fail(failed, error)

    def _abort(self) -> list[Row]:
        with self._cond:
            return self.policy.abort()

    def _fail(self, rows: list[Row], error: BaseException) -> None:
        for row in rows:
            self._resolve(row.ticket, exception=error)
