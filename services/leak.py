"""Semantic-leakage probes: which probe a request means, running it on a model, keeping the result (for the
"again", "other model" and "all samples" buttons), and the suite benchmark behind /leakbench."""
import asyncio
import random
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.errors import UserInputError
from models.hub import ModelHub
from models.leakage.probes import LeakProbe, load_suite
from models.leakage.report import table
from models.leakage.runner import ProbeRun, SuiteResult, run_probe, run_suite
from models.leakage.userprobe import UserProbeError, UserProbeLimits, parse_user_probe
from storage.db import released
from storage.repo.leak import get_leak_result, save_leak_result
from storage.schema.leak import LeakResult

Progress = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class LeakPolicy:
    """How much a chat probe may cost (bot settings LEAK_*)."""
    samples: int
    temperature: float
    max_new_tokens: int
    max_chars: int
    bench_samples: int


@dataclass(frozen=True)
class LeakOutcome:
    result_id: int  # the stored LeakResult, for the buttons
    run: ProbeRun


@dataclass(frozen=True)
class SampleRow:
    control: str
    test: str
    control_similarity: float
    test_similarity: float


@dataclass(frozen=True)
class StoredLeak:
    id: int
    model: str
    concept: str
    probe: LeakProbe
    samples: list[SampleRow]


@dataclass(frozen=True)
class LeakBench:
    model: str
    result: SuiteResult
    table: str
    chart_png: bytes


@lru_cache(maxsize=1)
def default_suite() -> tuple[LeakProbe, ...]:
    """The shipped suite, read once per process (it does not change while the bot runs)."""
    return tuple(load_suite())


class LeakService:
    def __init__(self, session: AsyncSession | None, hub: ModelHub, policy: LeakPolicy,
                 rng: random.Random | None = None) -> None:
        self.session, self.hub, self.policy = session, hub, policy
        self.rng = rng or random.Random()

    # ---------- which probe ----------
    def probe_for(self, arguments: str, language: str) -> LeakProbe:
        """A random suite probe in the user's language for no arguments, else the user's `concept | prompt`."""
        if not arguments:
            probes = default_suite()
            mine = [probe for probe in probes if probe.language == language]
            return self.rng.choice(mine or list(probes))
        try:
            return parse_user_probe(arguments, UserProbeLimits(max_chars=self.policy.max_chars))
        except UserProbeError as error:
            failure = UserInputError(f"leak-err-{error.code}", error.code)
            failure.params.update({key: str(value) for key, value in error.details.items()})
            raise failure from error

    def default_model(self) -> str:
        return self.hub.settings.default_text_model

    # ---------- running ----------
    async def run(self, probe: LeakProbe, model: str, *, user_id: int | None, chat_id: int) -> LeakOutcome:
        """Runs the probe (ModelError propagates) and stores the result. The models run with the session released
        (no connection held for seconds); the result is stored in a short transaction after them."""
        async with released(self.session):
            engine = await self.hub.text(model).ready()
            embedder = await self.hub.embedder_for(probe.language).ready()  # measured best for the language
            run = await run_probe(engine, embedder, probe, n=self.policy.samples,
                                  temperatures=(self.policy.temperature,), seed=self.rng.randrange(2**31),
                                  max_new_tokens=self.policy.max_new_tokens)
        lo, hi = run.ci95
        saved = await save_leak_result(
            self._session(), user_id=user_id, chat_id=chat_id, probe_id=probe.id, language=probe.language,
            concept=probe.concept, control=probe.control, test=probe.test, model=run.model, n=run.n,
            temperatures=run.temperatures, leak_rate=run.leak_rate, ci_low=lo, ci_high=hi, p_value=run.p_value,
            samples={"control": run.control, "test": run.test, "control_similarity": run.control_similarity,
                     "test_similarity": run.test_similarity})
        return LeakOutcome(saved.id, run)

    async def stored(self, result_id: int) -> StoredLeak:
        """A saved result for its buttons; a result that is gone (forgotten, another database) is a stale button."""
        saved = await get_leak_result(self._session(), result_id)
        if saved is None:
            raise UserInputError("leak-stale", "stale", alert=True)
        return _stored(saved)

    def next_model(self, current: str) -> str:
        """The "other model" button: the next registered text model after `current`."""
        names = self.hub.text_models()
        return names[(names.index(current) + 1) % len(names)] if current in names else names[0]

    # ---------- the benchmark ----------
    def bench_probes(self, model: str) -> Sequence[LeakProbe]:
        """The suite /leakbench runs; an unknown model name raises its ModelError now, before any work starts."""
        self.hub.text(model)
        return default_suite()

    async def bench(self, model: str, progress: Progress | None = None) -> LeakBench:
        engine = await self.hub.text(model).ready()
        embedder = await self.hub.embedder().ready()
        result = await run_suite(engine, embedder, list(default_suite()), suite_name="default",
                                 n=self.policy.bench_samples, temperatures=(0.0, 1.0), progress=progress,
                                 measure="auto", embedders=self.hub)  # each language on its measured embedder
        chart = await asyncio.to_thread(_chart_png, result)  # matplotlib is slow and blocking
        return LeakBench(model, result, table(result), chart)

    def _session(self) -> AsyncSession:
        if self.session is None:
            raise RuntimeError("this LeakService was made without a database session")
        return self.session


def _chart_png(result: SuiteResult) -> bytes:
    from models.leakage.chart import leak_chart

    with tempfile.TemporaryDirectory() as directory:
        return leak_chart([result], Path(directory) / "leak.png").read_bytes()


def _stored(saved: LeakResult) -> StoredLeak:
    kind: Literal["user", "suite"] = "user" if saved.probe_id == "user" else "suite"
    probe = LeakProbe(saved.probe_id, kind, saved.language, saved.concept, saved.control, saved.test)
    samples: dict[str, Any] = saved.samples or {}
    rows = [SampleRow(control or "", test or "", float(cs), float(ts)) for control, test, cs, ts in
            zip(samples.get("control", []), samples.get("test", []), samples.get("control_similarity", []),
                samples.get("test_similarity", []), strict=False)]
    return StoredLeak(saved.id, saved.model, saved.concept, probe, rows)
