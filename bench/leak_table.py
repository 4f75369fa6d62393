"""Leak-Rate per model × similarity measure × language from `python -m models.leakage bench --measure …` JSON files.

    python bench/leak_table.py bench/out/leak-gemma-measures.json bench/out/leak-smollm2-measures.json [--json OUT]

Every per-probe Leak-Rate of every measure is in the bench JSON (`probes[].by_measure`), so the table is recomputed
from them with the current `models/embedder_choice.json`: `auto` is the column of the embedder chosen for each
language, and a language whose embedder does not separate related from unrelated text there is shown as `—`.
Intervals: the cluster bootstrap over probes (models.leakage.stats.bootstrap_ci, seed 0), as the bench does."""
import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from models.leakage.stats import bootstrap_ci
from models.registry import best_embedder, embedder_choice


def _embedder(measure: str, language: str) -> str:
    if measure == "auto":
        return best_embedder(language)
    return measure.partition(":")[2] or "minilm"


def summarize(payload: dict[str, Any]) -> dict[str, Any]:
    separates = embedder_choice().get("leakage_separates", {})
    measures = list(payload["probes"][0]["by_measure"]) if payload["probes"] else []
    out: dict[str, Any] = {"model": payload["model"], "n_samples": payload["n_samples"],
                           "temperatures": payload["temperatures"], "seconds": payload["seconds"], "measures": {}}
    languages = sorted({p["probe"]["language"] for p in payload["probes"]})
    for measure in measures:
        row: dict[str, Any] = {}
        for language in languages:
            name = _embedder(measure, language)
            column = "cosine:" + name if measure == "auto" else measure
            if column not in measures:
                row[language] = {"note": f"{column} not scored"}
                continue
            rates = np.array([p["by_measure"][column]["leak_rate"] for p in payload["probes"]
                              if p["probe"]["language"] == language]) / 100
            low, high = bootstrap_ci(rates, seed=0)
            valid = bool(separates.get(f"{name}/{language}", False))
            row[language] = {"embedder": name, "n_probes": int(rates.size), "separates": valid,
                             "leak_rate": round(float(rates.mean()) * 100, 1) if valid else None,
                             "ci95": [round(low, 1), round(high, 1)] if valid else None,
                             # kept for diagnosis only; not a Leak-Rate where the embedder does not separate
                             "unvalidated_leak_rate": round(float(rates.mean()) * 100, 1)}
        kept = [p["by_measure"]["cosine:" + _embedder(measure, p["probe"]["language"]) if measure == "auto"
                             else measure]["leak_rate"] / 100 for p in payload["probes"]
                if row.get(p["probe"]["language"], {}).get("separates")]
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
        lines.append("| measure | separated languages | " + " | ".join(languages) + " |")
        lines.append("|---|---|" + "---|" * len(languages))
        for measure, row in summary["measures"].items():
            cells = []
            for language in languages:
                entry = row[language]
                if entry.get("leak_rate") is not None:
                    cells.append(f"{entry['leak_rate']:.1f} [{entry['ci95'][0]:.1f}, {entry['ci95'][1]:.1f}] "
                                 f"({entry['n_probes']})")
                elif "embedder" in entry:
                    cells.append(f"— ({entry['embedder']} does not separate {language}) ({entry['n_probes']})")
                else:
                    cells.append("—")
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
