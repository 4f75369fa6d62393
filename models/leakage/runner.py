"""Running probes through a text engine: N samples per temperature for the control and the test prompt,
first sentences compared with the concept, paired scores, Leak-Rate with a bootstrap interval."""
import asyncio
import dataclasses
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.leakage.probes import LeakProbe
from models.leakage.similarity import EmbedderSource, MeasureScores, score_measure
from models.leakage.stats import bootstrap_ci, leak_rate, probe_sign_test_p, sign_test_p
from models.leakage.text import first_sentence
from models.protocols import Embedder, TextEngine

INSTRUCTION = "Complete the sentence."
PAPER_TEMPERATURES = (0.0, 0.5, 1.0, 1.5)


@dataclass
class ProbeRun:
    probe: LeakProbe
    model: str
    temperatures: list[float]
    n: int
    control: list[str]  # first sentences, in (temperature, sample) order, paired index by index with `test`
    test: list[str]
    control_similarity: list[float]
    test_similarity: list[float]
    scores: list[float]
    seconds: float
    seed: int = 0
    measure: str = "cosine"
    embedder: str = ""  # the embedder behind `measure` for this probe's language
    # Every measure the run was scored with (the first is the one above), same continuations.
    by_measure: dict[str, MeasureScores] = field(default_factory=dict)

    def with_measure(self, measure: str) -> "ProbeRun":
        """The same continuations scored with another of the run's measures."""
        scored = self.by_measure[measure]
        return dataclasses.replace(self, control_similarity=scored.control, test_similarity=scored.test,
                                   scores=scored.scores, measure=measure, embedder=scored.embedder)

    @property
    def leak_rate(self) -> float:
        return leak_rate(self.scores)

    @property
    def ci95(self) -> tuple[float, float]:
        return bootstrap_ci(self.scores, seed=self.seed)

    @property
    def p_value(self) -> float:
        # Greedy decoding yields one continuation pair, counted n times in the rate; the test counts it once.
        independent = []
        for index, temperature in enumerate(self.temperatures):
            block = list(self.scores[index * self.n:(index + 1) * self.n])
            independent += block[:1] if temperature == 0 else block
        return sign_test_p(independent)

    def best_example(self) -> int:
        """The pair where the concept leaked most (largest test − control similarity)."""
        return int(np.argmax(np.asarray(self.test_similarity) - np.asarray(self.control_similarity)))

    def summary(self) -> dict[str, Any]:
        lo, hi = self.ci95
        best = self.best_example()
        return {"probe": self.probe.to_json(), "model": self.model, "n": self.n, "temperatures": self.temperatures,
                "leak_rate": round(self.leak_rate, 2), "ci95": [round(lo, 2), round(hi, 2)],
                "p_value": round(self.p_value, 4), "best": {"control": self.control[best], "test": self.test[best]},
                "measure": self.measure, "embedder": self.embedder, "seconds": round(self.seconds, 2),
                "by_measure": {name: {"embedder": scored.embedder, "leak_rate": round(leak_rate(scored.scores), 2)}
                               for name, scored in self.by_measure.items()}}


def _clean(answer: str, *prompts: str) -> str:
    """Instruct models often restate the prompt before completing it; the continuation is what follows it.
    The longest restated prompt is cut (a test answer may restate the whole test prompt, concept sentence
    included, or only its control part): a restated concept sentence must not count as leakage."""
    stripped = answer.strip()
    for prompt in sorted(prompts, key=len, reverse=True):
        if prompt.strip() and stripped.lower().startswith(prompt.strip().lower()):
            stripped = stripped[len(prompt.strip()):]
            break
    return first_sentence(stripped)


async def generate_pairs(engine: TextEngine, probe: LeakProbe, *, n: int, temperatures: Sequence[float], seed: int,
                         max_new_tokens: int) -> tuple[list[str], list[str]]:
    prompts = [engine.format_prompt(probe.control, INSTRUCTION), engine.format_prompt(probe.test, INSTRUCTION)]

    async def at(temperature: float, index: int) -> tuple[list[str], list[str]]:
        samples = 1 if temperature == 0 else n  # greedy decoding gives the same continuation n times
        out = await engine.generate(prompts, n=samples, temperature=temperature, max_new_tokens=max_new_tokens,
                                    stop=["\n"], seed=seed + index)
        control, test = out
        return (control * n, test * n) if samples == 1 else (control, test)

    results = await asyncio.gather(*(at(t, i) for i, t in enumerate(temperatures)))
    control = [_clean(text, probe.control) for pair in results for text in pair[0]]
    test = [_clean(text, probe.test, probe.control) for pair in results for text in pair[1]]
    return control, test


async def run_probe(engine: TextEngine, embedder: Embedder, probe: LeakProbe, *, n: int = 10,
                    temperatures: Sequence[float] = PAPER_TEMPERATURES, seed: int = 0, max_new_tokens: int = 24,
                    measure: str | Sequence[str] = "cosine", embedders: EmbedderSource | None = None) -> ProbeRun:
    """`measure`: one name or several (models.leakage.similarity: "cosine", "token", "cosine:<embedder>",
    "auto"); every one scores the same continuations, the first is the run's own. `embedder` serves the plain
    "cosine"/"token"; `embedders` (a ModelHub) the named and "auto" ones."""
    started = time.perf_counter()
    control, test = await generate_pairs(engine, probe, n=n, temperatures=temperatures, seed=seed,
                                         max_new_tokens=max_new_tokens)
    measures = [measure] if isinstance(measure, str) else list(measure)
    by_measure: dict[str, MeasureScores] = {}
    for name in dict.fromkeys(measures):
        by_measure[name] = await score_measure(name, probe, control, test, embedder=embedder, embedders=embedders)
    first = by_measure[measures[0]]
    return ProbeRun(probe, engine.name, list(temperatures), n, control, test, first.control, first.test,
                    first.scores, time.perf_counter() - started, seed, measures[0], first.embedder, by_measure)


@dataclass
class SuiteResult:
    model: str
    suite: str
    runs: list[ProbeRun]
    n: int
    temperatures: list[float]
    seconds: float
    seed: int = 0
    by_category: dict[str, float] = field(default_factory=dict)
    by_language: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # suite lines the loader skipped ("line N: why")

    @property
    def measures(self) -> list[str]:
        return list(self.runs[0].by_measure) if self.runs else []

    def with_measure(self, measure: str) -> "SuiteResult":
        return dataclasses.replace(self, runs=[run.with_measure(measure) for run in self.runs])

    def language_validity(self) -> dict[str, tuple[str, bool, float | None]]:
        """{language: (measure key, whether it is adequate there, its sentence-level paired accuracy)} for this
        result's measure (models/embedder_choice.json; unmeasured: adequate, accuracy None)."""
        from models.leakage.similarity import accuracy_key, resolve_measure
        from models.registry import embedder_choice, measure_accuracy

        separates = embedder_choice().get("leakage_separates", {})
        out = {}
        for run in self.runs:
            language = run.probe.language
            method = resolve_measure(run.measure, language)[0] if run.measure else "cosine"
            key = accuracy_key(method, run.embedder or "minilm")
            out[language] = (key, bool(separates.get(f"{key}/{language}", True)), measure_accuracy(key, language))
        return out

    def measure_summary(self) -> dict[str, Any]:
        """Leak-Rate, interval and sign test overall and per language. Every language gets its number; where the
        measure is weak (sentence-level paired accuracy below models.leakage.association.ADEQUATE) the entry says so
        with that accuracy: a weak measure pulls the rate toward 50, so the number understates the leak."""
        lo, hi = self.ci95()
        validity = self.language_validity()
        languages: dict[str, Any] = {}
        counts: dict[str, int] = defaultdict(int)
        for run in self.runs:
            counts[run.probe.language] += 1
        for name, (rate, low, high) in self.group(lambda p: p.language).items():
            measure, adequate, accuracy = validity.get(name, ("minilm", True, None))
            entry: dict[str, Any] = {"leak_rate": round(rate, 2), "ci95": [round(low, 2), round(high, 2)],
                                     "n_probes": counts[name], "embedder": measure, "paired_accuracy": accuracy,
                                     "separates": adequate, "weak": not adequate}
            if not adequate:
                entry["note"] = (f"weak measure: {measure} has paired accuracy {accuracy:.2f} on sentence-level "
                                 f"association in {name}; the rate is pulled toward 50 (conservative)"
                                 if accuracy is not None else f"weak measure: {measure} in {name}")
            languages[name] = entry
        kept = [run.leak_rate / 100 for run in self.runs if validity.get(run.probe.language, ("", True, None))[1]]
        low_kept, high_kept = bootstrap_ci(kept, seed=self.seed)
        return {"leak_rate": round(self.leak_rate, 2), "ci95": [round(lo, 2), round(hi, 2)],
                "p_value": round(probe_sign_test_p(self.probe_rates()), 6), "n_probes": len(self.runs),
                # over the probes of the languages where the measure is adequate (the overall above has them all)
                "separated": {"leak_rate": round(float(np.mean(kept)) * 100, 2) if kept else None,
                              "ci95": [round(low_kept, 2), round(high_kept, 2)] if kept else None,
                              "n_probes": len(kept)},
                "by_language": languages}

    def probe_rates(self) -> np.ndarray:
        return np.array([run.leak_rate for run in self.runs])

    @property
    def leak_rate(self) -> float:
        return float(self.probe_rates().mean())

    def ci95(self) -> tuple[float, float]:
        # Pairs within a probe are not independent, so the interval resamples probes (a cluster bootstrap).
        return bootstrap_ci(self.probe_rates() / 100, seed=self.seed)

    def group(self, key: Callable[[LeakProbe], str]) -> dict[str, tuple[float, float, float]]:
        """{group: (Leak-Rate, CI low, CI high)}, all in percent."""
        groups: dict[str, list[float]] = defaultdict(list)
        for run in self.runs:
            groups[key(run.probe)].append(run.leak_rate / 100)
        return {name: (float(np.mean(values)) * 100, *bootstrap_ci(values, seed=self.seed))
                for name, values in sorted(groups.items())}

    def to_json(self) -> dict[str, Any]:
        lo, hi = self.ci95()
        return {
            "model": self.model, "suite": self.suite, "n_probes": len(self.runs), "skipped": len(self.skipped),
            "skipped_lines": self.skipped, "measure": self.runs[0].measure if self.runs else None,
            "measures": {name: self.with_measure(name).measure_summary() for name in self.measures},
            "n_samples": self.n,
            "temperatures": self.temperatures, "leak_rate": round(self.leak_rate, 2),
            "ci95": [round(lo, 2), round(hi, 2)],
            "p_value": round(probe_sign_test_p(self.probe_rates()), 6),
            "by_category": {k: round(v[0], 2) for k, v in self.group(lambda p: p.category).items()},
            # {language: {leak_rate, ci95, n_probes, embedder (the measure), paired_accuracy, weak, note?}}
            "by_language": self.measure_summary()["by_language"] if self.runs else {},
            "seconds": round(self.seconds, 1),
            "probes": [run.summary() for run in self.runs],
        }


async def run_suite(engine: TextEngine, embedder: Embedder, probes: list[LeakProbe], *, suite_name: str, n: int = 10,
                    temperatures: Sequence[float] = PAPER_TEMPERATURES, seed: int = 0, max_new_tokens: int = 24,
                    measure: str | Sequence[str] = "cosine", embedders: EmbedderSource | None = None,
                    concurrency: int = 8,
                    progress: Callable[[int, int], Awaitable[None]] | None = None) -> SuiteResult:
    """Probes run `concurrency` at a time so the engine can batch them together."""
    started = time.perf_counter()
    runs: list[ProbeRun | None] = [None] * len(probes)
    done = 0
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int, probe: LeakProbe) -> None:
        nonlocal done
        async with gate:
            runs[index] = await run_probe(engine, embedder, probe, n=n, temperatures=temperatures, seed=seed,
                                          max_new_tokens=max_new_tokens, measure=measure, embedders=embedders)
        done += 1
        if progress is not None:
            await progress(done, len(probes))

    await asyncio.gather(*(one(i, p) for i, p in enumerate(probes)))
    finished = [run for run in runs if run is not None]  # gather returned: every slot is filled
    return SuiteResult(engine.name, suite_name, finished, n, list(temperatures), time.perf_counter() - started,
                       seed)
