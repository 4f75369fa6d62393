"""A bounded request queue served by one worker thread that coalesces rows from many callers into batches.

Callers `await submit(rows)`; the worker takes up to `max_batch` rows (waiting at most `max_wait_s` for more once
the first arrives), runs `process(rows)` off the event loop, and resolves each caller's future on its own loop.
A cancelled caller's rows leave the queue at once (freeing its slot) or are skipped by `process` mid-batch."""
import asyncio
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from models.errors import EngineBusy, EngineClosed, RequestTimeout

log = logging.getLogger(__name__)


@dataclass
class Ticket:
    """One caller's request: several rows, one future."""
    rows: list[Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    results: list[Any] = field(default_factory=list)
    remaining: int = 0
    cancelled: bool = False
    started: bool = False

    def __post_init__(self):
        self.results = [None] * len(self.rows)
        self.remaining = len(self.rows)


@dataclass
class Row:
    ticket: Ticket
    index: int
    payload: Any

    @property
    def cancelled(self) -> bool:
        return self.ticket.cancelled


class BatchQueue:
    def __init__(self, process: Callable[[list[Row]], list[Any]], *, max_batch: int, max_wait_s: float,
                 capacity: int, name: str, setup: Callable[[], None] | None = None):
        self.process, self.setup = process, setup
        self.max_batch, self.max_wait_s, self.capacity, self.name = max_batch, max_wait_s, capacity, name
        self._pending: deque[Row] = deque()
        self._waiting_tickets = 0  # tickets with no row started yet: what the capacity bounds
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._setup_error: BaseException | None = None
        self.batches_run = 0
        self.rows_run = 0

    # ---------- caller side (event loop) ----------
    def start(self) -> None:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=f"engine-{self.name}", daemon=True)
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

    async def submit(self, payloads: list[Any], timeout: float | None = None) -> list[Any]:
        if not payloads:
            return []
        loop = asyncio.get_running_loop()
        ticket = Ticket(list(payloads), loop, loop.create_future())
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
        except asyncio.TimeoutError:
            self._cancel(ticket)
            raise RequestTimeout(timeout) from None
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
        if not ticket.future.done():
            ticket.future.cancel()

    async def close(self, *, drain: bool = True, timeout: float = 30.0) -> None:
        """Stop accepting work; finish what is queued (drain) or cancel it."""
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
    def _work(self) -> None:
        try:
            if self.setup is not None:
                self.setup()
        except BaseException as error:  # noqa: BLE001 - reported to every caller
            self._setup_error = error
            log.exception("engine %s failed to load", self.name)
        finally:
            self._ready.set()
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
            except BaseException as error:  # noqa: BLE001 - the batch fails, the worker lives on
                log.exception("engine %s batch failed", self.name)
                for row in live:
                    self._resolve(row.ticket, exception=error)
                continue
            self.batches_run += 1
            self.rows_run += len(live)
            for row, output in zip(live, outputs):
                ticket = row.ticket
                ticket.results[row.index] = output
                ticket.remaining -= 1
                if ticket.remaining == 0:
                    self._resolve(ticket, result=ticket.results)

    def _next_batch(self) -> list[Row] | None:
        with self._cond:
            while not self._pending:
                if self._closed:
                    return None
                self._cond.wait()
            deadline = time.monotonic() + self.max_wait_s
            while len(self._pending) < self.max_batch and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch = []
            while self._pending and len(batch) < self.max_batch:
                row = self._pending.popleft()
                if not row.ticket.started:
                    row.ticket.started = True
                    self._waiting_tickets -= 1
                batch.append(row)
            return batch

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
