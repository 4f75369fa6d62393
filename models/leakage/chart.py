"""Leak-Rate charts (matplotlib, no display needed)."""
from pathlib import Path

import matplotlib

from models.leakage.runner import SuiteResult

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def leak_chart(results: list[SuiteResult], path: Path | str) -> Path:
    """Bars per category and per language for one or more SuiteResults, with 95% intervals and the 50 line."""
    path = Path(path)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    for axis, key, title in ((axes[0], lambda p: p.category, "by category"),
                             (axes[1], lambda p: p.language, "by language")):
        groups = [result.group(key) for result in results]
        names = sorted({name for group in groups for name in group})
        width = 0.8 / max(len(results), 1)
        for index, (result, group) in enumerate(zip(results, groups, strict=True)):
            xs = [i + index * width for i in range(len(names))]
            values = [group.get(name, (float("nan"),) * 3) for name in names]
            rates = [v[0] for v in values]
            errors = [[max(v[0] - v[1], 0) for v in values], [max(v[2] - v[0], 0) for v in values]]
            axis.bar(xs, rates, width, yerr=errors, capsize=2, label=result.model)
        axis.axhline(50, color="black", linewidth=0.8, linestyle="--")
        axis.set_xticks([i + width * (len(results) - 1) / 2 for i in range(len(names))], names, rotation=30)
        axis.set_ylim(0, 100)
        axis.set_ylabel("Leak-Rate (%)")
        axis.set_title(f"Leak-Rate {title} (50 = no leakage)")
    axes[0].legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
