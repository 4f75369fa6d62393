"""Text reports of a suite run: the table the CLI prints and /leakbench sends."""
from collections.abc import Callable

from models.leakage.probes import LeakProbe
from models.leakage.runner import SuiteResult


def table(result: SuiteResult) -> str:
    """Leak-Rate overall, by category and by language, each with its 95% interval and probe count."""
    lo, hi = result.ci95()
    lines = [f"model {result.model} · suite {result.suite} · {len(result.runs)} probes · n={result.n} · "
             f"T={result.temperatures} · {result.seconds:.0f} s",
             f"{'':<16}{'Leak-Rate':>10}{'95% CI':>18}{'probes':>8}",
             f"{'overall':<16}{result.leak_rate:>10.1f}{f'[{lo:.1f}, {hi:.1f}]':>18}{len(result.runs):>8}"]
    keys: tuple[tuple[str, Callable[[LeakProbe], str]], ...] = (
        ("category", lambda p: p.category), ("language", lambda p: p.language))
    for title, key in keys:
        groups = result.group(key)
        counts: dict[str, int] = {}
        for run in result.runs:
            counts[key(run.probe)] = counts.get(key(run.probe), 0) + 1
        lines.append(f"-- by {title}")
        for name, (rate, low, high) in groups.items():
            lines.append(f"{name:<16}{rate:>10.1f}{f'[{low:.1f}, {high:.1f}]':>18}{counts[name]:>8}")
    return "\n".join(lines)
