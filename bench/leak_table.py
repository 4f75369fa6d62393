"""Leak-Rate per model × similarity measure × language from `python -m models.leakage bench --measure …` JSON files.

    python bench/leak_table.py bench/out/leak-gemma-measures.json bench/out/leak-smollm2-measures.json [--json OUT]

Every per-probe Leak-Rate of every measure is in the bench JSON (`probes[].by_measure`), so the table is recomputed
from them with the current `models/embedder_choice.json`: `auto` is the column of the measure chosen for each
language; a language where a measure is weak (sentence-level paired accuracy below 0.8) keeps its number, marked
"weak" with that accuracy (a weak measure pulls the rate toward 50; docs/leakage.md).
Intervals: the cluster bootstrap over probes (models.leakage.stats.bootstrap_ci, seed 0), as the bench does."""
import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from models.leakage.similarity import accuracy_key
from models.leakage.stats import bootstrap_ci
from models.registry import best_measure, embedder_choice


def _measure(measure: str, language: str) -> str:
    """The choice file's name of a bench measure in `language`: "minilm" for cosine on it, "token:minilm"."""
    if measure == "auto":
        return best_measure(language)
    method, _, name = measure.partition(":")
    return accuracy_key(method, name or "minilm")


def _column(measure: str, language: str) -> str:
    if measure != "auto":
        return measure
    chosen = best_measure(language)
    return chosen if ":" in chosen else "cosine:" + chosen


def summarize(payload: dict[str, Any]) -> dict[str, Any]:
    choice = embedder_choice()
    separates, accuracy = choice.get("leakage_separates", {}), choice.get("paired_accuracy", {})
    measures = list(payload["probes"][0]["by_measure"]) if payload["probes"] else []
    out: dict[str, Any] = {"model": payload["model"], "n_samples": payload["n_samples"],
                           "temperatures": payload["temperatures"], "seconds": payload["seconds"], "measures": {}}
    languages = sorted({p["probe"]["language"] for p in payload["probes"]})
    for measure in measures:
        row: dict[str, Any] = {}
        kept: list[float] = []
        for language in languages:
            name, column = _measure(measure, language), _column(measure, language)
            if column not in measures:
                row[language] = {"note": f"{column} not scored"}
                continue
            rates = np.array([p["by_measure"][column]["leak_rate"] for p in payload["probes"]
                              if p["probe"]["language"] == language]) / 100
            low, high = bootstrap_ci(rates, seed=0)
            adequate = bool(separates.get(f"{name}/{language}", True))
            row[language] = {"embedder": name, "n_probes": int(rates.size), "weak": not adequate,
                             "paired_accuracy": accuracy.get(f"{name}/{language}"),
                             "leak_rate": round(float(rates.mean()) * 100, 1),
                             "ci95": [round(low, 1), round(high, 1)]}
            kept += list(rates) if adequate else []
        low, high = bootstrap_ci(kept, seed=0)
        row["separated"] = {"n_probes": len(kept), "leak_rate": round(float(np.mean(kept)) * 100, 1) if kept else None,
                            "ci95": [round(low, 1), round(high, 1)] if kept else None}
        out["measures"][measure] = row
    return out


def table(summaries: list[dict[str, Any]]) -> str:
    lines = []
    for summary in summaries:
        lines.append(f"## {summary['model']} (n={summary['n_samples']}, T={summary['temperatures']}, "
                     f"{summary['seconds']:.0f} s)")
        languages = sorted({lang for row in summary["measures"].values() for lang in row} - {"separated"})
        lines.append("| measure | languages where it is adequate | " + " | ".join(languages) + " |")
        lines.append("|---|---|" + "---|" * len(languages))
        for measure, row in summary["measures"].items():
            cells = []
            for language in languages:
                entry = row[language]
                if entry.get("leak_rate") is None:
                    cells.append(entry.get("note", ""))
                    continue
                weak = entry["weak"] and entry["paired_accuracy"] is not None
                cells.append(f"{entry['leak_rate']:.1f} [{entry['ci95'][0]:.1f}, {entry['ci95'][1]:.1f}] "
                             f"({entry['n_probes']})" + (f" weak: {entry['embedder']} {entry['paired_accuracy']:.2f}"
                                                         if weak else ""))
            kept = row["separated"]
            overall = (f"{kept['leak_rate']:.1f} [{kept['ci95'][0]:.1f}, {kept['ci95'][1]:.1f}] ({kept['n_probes']})"
                       if kept["leak_rate"] is not None else "—")
            lines.append(f"| {measure} | {overall} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    summaries = [summarize(json.loads(path.read_text(encoding="utf-8"))) for path in args.files]
    print(table(summaries))
    if args.json:
        args.json.write_text(json.dumps(summaries, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
