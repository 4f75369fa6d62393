"""The request schedulers without a model: `StepScheduler` (continuous batching) driven by a fake step model
whose rows "generate" a fixed number of tokens, and `BatchQueue` (one-shot batches) with a plain function.
The worker thread, the caller futures, capacity, timeouts and cancellation are the real ones. No assertion is on
elapsed time: tests check what the fake model saw at each step (the pure policy: test_step_policy.py)."""
import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from models.batching import BatchQueue, Row, StepScheduler
from models.errors import EngineBusy, EngineClosed, RequestTimeout


class FakeStepModel:
    """Each payload is (label, tokens): the row finishes after `tokens` decode steps and returns
    "label:tokens". Records the running batch of every step; `pause` slows steps so tests can act between them."""

    def __init__(self, step_seconds: float = 0.0, fail_on: str | None = None):
        self.running: list[Row] = []
        self.produced: dict[int, int] = {}
        self.history: list[list[str]] = []  # labels in the batch at each step
        self.admitted: list[list[str]] = []  # labels of each admission
        self.dropped: list[str] = []
        self.step_seconds, self.fail_on = step_seconds, fail_on
        self.resets = 0
        self.lock = threading.Lock()
        self.dropped_event = threading.Event()

    def cost(self, payload: Any) -> int:
        return payload[1]

    def admit(self, rows: list[Row]) -> list[tuple[Row, Any]]:
        self.admitted.append([row.payload[0] for row in rows])
        self.running.extend(rows)
        for row in rows:
            self.produced[id(row)] = 0
        return []

    def step(self) -> list[tuple[Row, Any]]:
        if self.step_seconds:
            time.sleep(self.step_seconds)
        labels = [row.payload[0] for row in self.running]
        self.history.append(labels)
        if self.fail_on in labels:
            raise RuntimeError(f"boom at {self.fail_on}")
        finished = []
        for row in list(self.running):
            self.produced[id(row)] += 1
            if self.produced[id(row)] >= row.payload[1]:
                finished.append((row, f"{row.payload[0]}:{self.produced[id(row)]}"))
                self.running.remove(row)
        return finished

    def drop(self, rows: list[Row]) -> None:
        for row in rows:
            self.dropped.append(row.payload[0])
            self.running.remove(row)
        self.dropped_event.set()

    def reset(self) -> None:
        self.resets += 1
        self.running.clear()


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Wait for a state of the worker; the limit only keeps a broken scheduler from hanging the suite."""
    for _ in range(2000):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


def scheduler(model: FakeStepModel, **overrides: Any) -> StepScheduler:
    options: dict[str, Any] = {"max_rows": 8, "max_tokens": 1000, "max_wait_s": 0.0, "capacity": 16, "name": "fake"}
    options.update(overrides)
    return StepScheduler(model, **options)


async def test_short_request_finishes_while_a_long_one_runs():
    model = FakeStepModel(step_seconds=0.005)
    queue = scheduler(model)
    try:
        long = asyncio.create_task(queue.submit([("long", 60)]))
        await until(lambda: bool(model.history), "the long row decoding")
        assert await queue.submit([("short", 3)]) == ["short:3"]
        steps_when_short_came_back = len(model.history)
        # The short one did not wait for the long one's batch to end: it came back before the long row's 60th step.
        assert not long.done() and steps_when_short_came_back < 60
        assert await long == ["long:60"]
    finally:
        await queue.close()
    # The short row joined the running batch between two steps and left it as soon as it was done.
    with_short = [step for step in model.history if "short" in step]
    assert len(with_short) == 3 and all("long" in step for step in with_short)
    assert model.history[-1] == ["long"]


async def test_rows_of_many_callers_share_steps_and_results_go_to_their_callers():
    model = FakeStepModel()
    queue = scheduler(model, max_wait_s=0.05)
    try:
        results = await asyncio.gather(*(queue.submit([(f"r{i}a", 1 + i % 3), (f"r{i}b", 2)]) for i in range(4)))
    finally:
        await queue.close()
    assert results == [[f"r{i}a:{1 + i % 3}", f"r{i}b:2"] for i in range(4)]
    assert max(len(step) for step in model.history) == 8  # all eight rows decoded together
    assert queue.rows_run == 8


async def test_admission_respects_row_limit_and_token_budget_first_come_first_served():
    model = FakeStepModel(step_seconds=0.002)
    queue = scheduler(model, max_rows=3, max_tokens=10, max_wait_s=0.05)
    try:
        results = await asyncio.gather(queue.submit([("a", 4), ("b", 4)]), queue.submit([("c", 4)]),
                                       queue.submit([("d", 1)]))
    finally:
        await queue.close()
    assert list(results) == [["a:4", "b:4"], ["c:4"], ["d:1"]]
    # a + b reserve 8 of 10 tokens: c (4) must wait, and d (1) may not overtake it.
    assert model.admitted[0] == ["a", "b"]
    admission = {label: i for i, labels in enumerate(model.admitted) for label in labels}
    assert admission["c"] > 0 and admission["d"] >= admission["c"]
    assert not any("a" in step and "d" in step for step in model.history)  # d fitted, but did not overtake c
    assert all(len(step) <= 3 for step in model.history)
    assert queue.reserved_tokens == 0 and queue.running == 0


async def test_a_row_over_the_budget_still_runs_alone():
    model = FakeStepModel()
    queue = scheduler(model, max_tokens=5)
    try:
        assert await queue.submit([("huge", 9)]) == ["huge:9"]
    finally:
        await queue.close()


async def test_cancelled_request_leaves_the_batch_at_the_next_step():
    model = FakeStepModel(step_seconds=0.01)
    queue = scheduler(model, max_tokens=10_000)
    try:
        stays = asyncio.create_task(queue.submit([("stays", 30)]))
        leaves = asyncio.create_task(queue.submit([("leaves", 1000), ("leaves", 1000)]))
        await until(lambda: queue.running == 2 + 1, "both requests running")
        leaves.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leaves
        assert await stays == ["stays:30"]
    finally:
        await queue.close()
    assert model.dropped == ["leaves", "leaves"]
    assert queue.reserved_tokens == 0
    # "stays" may run a step alone before "leaves" arrives: look for the first step without it after it joined.
    joined = next(i for i, step in enumerate(model.history) if "leaves" in step)
    cancelled_at = next(i for i in range(joined, len(model.history)) if "leaves" not in model.history[i])
    assert all("leaves" not in step for step in model.history[cancelled_at:])


async def test_timeout_raises_and_frees_the_rows():
    model = FakeStepModel(step_seconds=0.01)
    queue = scheduler(model)
    try:
        with pytest.raises(RequestTimeout):
            await queue.submit([("slow", 1000)], timeout=0.05)
        assert await queue.submit([("next", 2)]) == ["next:2"]
    finally:
        await queue.close()
    assert "slow" in model.dropped


async def test_the_worker_drops_a_row_at_its_deadline_even_while_the_callers_loop_is_blocked():
    model = FakeStepModel(step_seconds=0.005)
    queue = scheduler(model)
    try:
        slow = asyncio.create_task(queue.submit([("slow", 100_000)], timeout=0.05))
        await until(lambda: queue.running == 1, "the slow row running")
        # Block this loop: its own timeout cannot fire, so only the worker can see the deadline pass.
        assert model.dropped_event.wait(timeout=30)
        assert model.dropped == ["slow"] and queue.running == 0 and queue.reserved_tokens == 0
        with pytest.raises(RequestTimeout):
            await slow
        assert await queue.submit([("next", 2)]) == ["next:2"]
    finally:
        await queue.close()


async def test_capacity_counts_requests_not_yet_started():
    model = FakeStepModel(step_seconds=0.01)
    queue = scheduler(model, max_rows=1, capacity=2)
    try:
        running = asyncio.create_task(queue.submit([("running", 20)]))
        await until(lambda: queue.running == 1, "the first request running")
        waiting = [asyncio.create_task(queue.submit([(f"w{i}", 1)])) for i in range(2)]
        await until(lambda: queue.queued == 2, "two requests waiting")
        with pytest.raises(EngineBusy) as busy:
            await queue.submit([("rejected", 1)])
        assert busy.value.position == 3 and busy.value.capacity == 2
        waiting[0].cancel()  # a cancelled waiting request frees its slot at once
        await asyncio.sleep(0)
        assert queue.queued == 1
        assert await running == ["running:20"]
        assert await waiting[1] == ["w1:1"]
    finally:
        await queue.close()


async def test_a_failing_step_fails_its_rows_and_the_worker_lives_on():
    model = FakeStepModel(fail_on="bad")
    queue = scheduler(model)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            await queue.submit([("bad", 5)])
        assert model.resets == 1
        assert await queue.submit([("good", 2)]) == ["good:2"]
    finally:
        await queue.close()


async def test_setup_failure_reaches_every_caller():
    def setup() -> None:
        raise OSError("weights missing")

    queue = scheduler(FakeStepModel(), setup=setup)
    with pytest.raises(OSError, match="weights missing"):
        await queue.ready()
    with pytest.raises(OSError, match="weights missing"):
        await queue.submit([("x", 1)])
    await queue.close()


async def test_close_drains_or_refuses():
    model = FakeStepModel(step_seconds=0.005)
    queue = scheduler(model, max_rows=1)
    first = asyncio.create_task(queue.submit([("first", 5)]))
    second = asyncio.create_task(queue.submit([("second", 5)]))
    await asyncio.sleep(0.01)
    await queue.close(drain=True)
    assert await first == ["first:5"] and await second == ["second:5"]
    with pytest.raises(EngineClosed):
        await queue.submit([("late", 1)])

    model = FakeStepModel(step_seconds=0.005)
    queue = scheduler(model, max_rows=1)
    first = asyncio.create_task(queue.submit([("first", 40)]))
    await asyncio.sleep(0.02)
    second = asyncio.create_task(queue.submit([("second", 5)]))
    await asyncio.sleep(0.01)
    await queue.close(drain=False)
    assert await first == ["first:40"]  # running rows finish
    with pytest.raises(EngineClosed):
        await second


async def test_batch_queue_coalesces_callers_and_isolates_failures():
    batches: list[list[Any]] = []

    def process(rows: list[Row]) -> list[Any]:
        payloads = [row.payload for row in rows]
        batches.append(payloads)
        if "boom" in payloads:
            raise ValueError("bad row")
        return [payload * 2 for payload in payloads]

    queue = BatchQueue(process, max_batch=4, max_wait_s=0.05, capacity=8, name="plain")
    try:
        results = await asyncio.gather(queue.submit([1, 2]), queue.submit([3]), queue.submit([4, 5]))
        assert list(results) == [[2, 4], [6], [8, 10]]
        assert [len(batch) for batch in batches] == [4, 1]  # max_batch rows, the rest in the next batch
        with pytest.raises(ValueError):
            await queue.submit(["boom"])
        assert await queue.submit([7]) == [14]
    finally:
        await queue.close()
    with pytest.raises(EngineClosed):
        await queue.submit([1])
