"""Text reports of a suite run: the table the CLI prints and /leakbench sends. Every language gets its Leak-Rate;
where its measure is weak on sentence-level association (python -m models.leakage embeddings) the row says so with
the measure's paired accuracy: such a rate is pulled toward 50, so it understates the leak (docs/leakage.md)."""
from collections.abc import Callable

from models.leakage.probes import LeakProbe
from models.leakage.runner import SuiteResult


def _rate(rate: float, low: float, high: float) -> str:
    return f"{rate:>10.1f}{f'[{low:.1f}, {high:.1f}]':>18}"


def _measure_note(language: str, measure: str, adequate: bool, accuracy: float | None) -> str:
    shown = f"{measure} {accuracy:.2f}" if accuracy is not None else measure
    return f"({shown})" if adequate else f"({shown}: weak measure in {language}, rate pulled toward 50)"


def table(result: SuiteResult) -> str:
    lo, hi = result.ci95()
    lines = [f"model {result.model} · suite {result.suite} · {len(result.runs)} probes"
             + (f" ({len(result.skipped)} skipped)" if result.skipped else "")
             + f" · n={result.n} · T={result.temperatures} · measure {result.runs[0].measure if result.runs else '-'}"
             + f" · {result.seconds:.0f} s",
             f"{'':<16}{'Leak-Rate':>10}{'95% CI':>18}{'probes':>8}",
             f"{'overall':<16}{_rate(result.leak_rate, lo, hi)}{len(result.runs):>8}"]
    validity = result.language_validity()
    if any(not valid for _, valid, _ in validity.values()):
        separated = result.measure_summary()["separated"]
        if separated["leak_rate"] is not None:
            low, high = separated["ci95"]
            lines.append(f"{'adequate only':<16}{_rate(separated['leak_rate'], low, high)}"
                         f"{separated['n_probes']:>8}  (languages whose measure is not weak)")
    keys: tuple[tuple[str, Callable[[LeakProbe], str]], ...] = (
        ("category", lambda p: p.category), ("language", lambda p: p.language))
    for title, key in keys:
        groups = result.group(key)
        counts: dict[str, int] = {}
        for run in result.runs:
            counts[key(run.probe)] = counts.get(key(run.probe), 0) + 1
        lines.append(f"-- by {title}")
        for name, (rate, low, high) in groups.items():
            line = f"{name:<16}{_rate(rate, low, high)}{counts[name]:>8}"
            if title == "language" and name in validity:
                line += "  " + _measure_note(name, *validity[name])
            lines.append(line)
    return "\n".join(lines)


def measures_table(result: SuiteResult) -> str:
    """Every measure side by side, per language (the same continuations scored each way)."""
    languages = sorted({run.probe.language for run in result.runs})
    lines = ["-- by measure and language (Leak-Rate [95% CI], probes; \"weak\" with the measure's paired accuracy)"]
    for measure in result.measures:
        summary = result.with_measure(measure).measure_summary()
        cells = [f"overall {summary['leak_rate']:.1f} [{summary['ci95'][0]:.1f}, {summary['ci95'][1]:.1f}]"]
        if summary["separated"]["leak_rate"] is not None and summary["separated"]["n_probes"] < len(result.runs):
            kept = summary["separated"]
            cells.append(f"adequate {kept['leak_rate']:.1f} [{kept['ci95'][0]:.1f}, {kept['ci95'][1]:.1f}] "
                         f"n={kept['n_probes']}")
        for language in languages:
            entry = summary["by_language"][language]
            weak = (f" weak ({entry['embedder']} {entry['paired_accuracy']:.2f})"
                    if entry["weak"] and entry["paired_accuracy"] is not None else " weak" if entry["weak"] else "")
            cells.append(f"{language} {entry['leak_rate']:.1f} [{entry['ci95'][0]:.1f}, {entry['ci95'][1]:.1f}] "
                         f"n={entry['n_probes']}{weak}")
        lines.append(f"{measure:<24}" + " · ".join(cells))
    return "\n".join(lines)
