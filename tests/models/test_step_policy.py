"""The pure scheduling step (`models.scheduling.StepPolicy`) without a model, a thread or a clock: plain rows with a
cost, a cancelled flag and a deadline, and the plans the policy returns for them."""
import ast
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

import models.scheduling
from models.scheduling import StepPlan, StepPolicy


@dataclass(eq=False)
class Req:
    label: str
    tokens: int
    cancelled: bool = False
    deadline: float | None = None

    @property
    def payload(self) -> "Req":
        return self

    def __repr__(self) -> str:
        return self.label


def policy(max_rows: int = 8, max_tokens: int = 100) -> StepPolicy[Req]:
    return StepPolicy(max_rows=max_rows, max_tokens=max_tokens, cost=lambda req: req.tokens)


def labels(rows: list[Req]) -> list[str]:
    return [row.label for row in rows]


def queue(*reqs: Req) -> deque[Req]:
    return deque(reqs)


def test_admission_stops_at_the_row_limit():
    p, waiting = policy(max_rows=2), queue(Req("a", 1), Req("b", 1), Req("c", 1))
    plan = p.schedule(waiting, now=0)
    assert labels(plan.admit) == ["a", "b"] and plan.decode
    assert labels(list(waiting)) == ["c"]
    assert labels(p.schedule(waiting, now=1).admit) == []  # still full
    p.retire([plan.admit[0]])
    assert labels(p.schedule(waiting, now=2).admit) == ["c"]


def test_admission_stops_at_the_token_budget_and_retiring_frees_it():
    p, waiting = policy(max_tokens=10), queue(Req("a", 4), Req("b", 4), Req("c", 4))
    first = p.schedule(waiting, now=0)
    assert labels(first.admit) == ["a", "b"] and p.reserved == 8
    p.retire([first.admit[1]])
    assert p.reserved == 4
    assert labels(p.schedule(waiting, now=1).admit) == ["c"] and p.reserved == 8


def test_first_come_first_served_the_head_is_never_overtaken():
    p = policy(max_tokens=10)
    waiting = queue(Req("a", 8), Req("big", 5), Req("small", 1))
    plan = p.schedule(waiting, now=0)
    # "small" would fit beside "a", but "big" came first and does not fit yet.
    assert labels(plan.admit) == ["a"]
    assert labels(list(waiting)) == ["big", "small"]
    p.retire(plan.admit)
    assert labels(p.schedule(waiting, now=1).admit) == ["big", "small"]


def test_a_cancelled_callers_rows_are_dropped_at_the_next_step():
    p = policy(max_tokens=10)
    stays, leaves, queued = Req("stays", 3), Req("leaves", 6), Req("queued", 5)
    waiting = queue(stays, leaves, queued)
    assert labels(p.schedule(waiting, now=0).admit) == ["stays", "leaves"]  # queued: 14 of 10 tokens
    leaves.cancelled = True
    plan = p.schedule(waiting, now=1)
    assert labels(plan.drop) == ["leaves"] and plan.expired == []  # its caller has its answer already
    assert labels(plan.admit) == ["queued"]  # the freed tokens go to the next row in the same step
    assert list(p.running) == [stays, queued] and p.reserved == 8 and plan.decode


def test_a_cancelled_waiting_row_is_never_admitted():
    p, gone = policy(), Req("gone", 1, cancelled=True)
    waiting = queue(gone, Req("next", 1))
    plan = p.schedule(waiting, now=0)
    assert labels(plan.admit) == ["next"] and plan.drop == [] and plan.expired == []
    assert not waiting


def test_rows_past_their_deadline_expire_running_or_waiting():
    p = policy(max_rows=1)
    running, late, patient = Req("running", 5, deadline=10.0), Req("late", 1, deadline=5.0), Req("patient", 1)
    waiting = queue(running, late, patient)
    assert labels(p.schedule(waiting, now=0).admit) == ["running"]
    assert labels(p.schedule(waiting, now=4.9).expired) == []  # before the deadline nothing happens
    plan = p.schedule(waiting, now=5.0)
    assert labels(plan.expired) == ["late"] and plan.drop == [] and labels(list(waiting)) == ["patient"]
    plan = p.schedule(waiting, now=10.0)
    assert labels(plan.expired) == ["running"] and labels(plan.drop) == ["running"]  # the model must forget it
    assert labels(plan.admit) == ["patient"]  # its room goes to the next row in the same step
    assert p.reserved == 1


def test_a_cancelled_row_past_its_deadline_is_dropped_not_timed_out_twice():
    p = policy()
    row = Req("row", 1, deadline=1.0)
    p.schedule(queue(row), now=0)
    row.cancelled = True
    plan = p.schedule(deque(), now=2.0)
    assert labels(plan.drop) == ["row"] and plan.expired == []


def test_a_request_over_the_budget_is_refused_while_others_run_and_then_runs_alone():
    p = policy(max_tokens=10)
    small, huge, after = Req("small", 2), Req("huge", 50), Req("after", 1)
    waiting = queue(small, huge, after)
    plan = p.schedule(waiting, now=0)
    assert labels(plan.admit) == ["small"]  # huge refused: it would overrun the budget of a running batch
    assert labels(list(waiting)) == ["huge", "after"]  # and "after" does not overtake it
    p.retire([small])
    assert labels(p.schedule(waiting, now=1).admit) == ["huge"]  # an empty batch takes it, or it waits forever
    assert p.reserved == 50
    assert labels(p.schedule(waiting, now=2).admit) == []  # nothing joins it
    p.retire([huge])
    assert labels(p.schedule(waiting, now=3).admit) == ["after"]


def test_a_failed_step_aborts_the_batch_and_the_queue_goes_on():
    p = policy(max_rows=2)
    waiting = queue(Req("a", 3), Req("b", 3), Req("c", 3))
    p.schedule(waiting, now=0)
    failed = p.abort()
    assert labels(failed) == ["a", "b"]  # every running row's caller gets the error
    assert p.running == {} and p.reserved == 0
    assert labels(list(waiting)) == ["c"]  # the waiting row is untouched
    assert labels(p.schedule(waiting, now=1).admit) == ["c"]


def test_nothing_to_do_plans_nothing():
    plan = policy().schedule(deque(), now=0)
    assert plan == StepPlan()
    assert not plan.decode


def test_retiring_an_unknown_row_changes_nothing():
    p = policy()
    p.schedule(queue(Req("a", 3)), now=0)
    p.retire([Req("stranger", 5)])
    assert p.reserved == 3


@pytest.mark.parametrize("forbidden", ["torch", "asyncio", "threading", "time", "models.batching"])
def test_the_policy_imports_no_model_loop_thread_or_clock(forbidden):
    tree = ast.parse(Path(models.scheduling.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name == forbidden or name.startswith(forbidden + ".") for name in imported)
