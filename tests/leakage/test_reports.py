"""Suite reports never print a Leak-Rate for a language whose embedder does not separate related from unrelated
text there (per models/embedder_choice.json); the overall over the separated languages is given beside the total."""
import json

from models.leakage.probes import LeakProbe
from models.leakage.report import measures_table, table
from models.leakage.runner import ProbeRun, SuiteResult
from models.leakage.similarity import MeasureScores
from models.registry import embedder_choice


def _run(index: int, language: str, score: float) -> ProbeRun:
    probe = LeakProbe(f"p{index}", "colours", language, "x", "a", "x. a")
    auto = MeasureScores("minilm" if language == "en" else "e5-small", [0.1], [0.2], [score])
    plain = MeasureScores("minilm", [0.1], [0.2], [score])
    return ProbeRun(probe, "m", [0.0], 1, ["c"], ["t"], [0.1], [0.2], [score], 0.1, 0, "auto", auto.embedder,
                    {"auto": auto, "cosine:minilm": plain})


def test_languages_without_a_separating_embedder_get_no_number():
    separates = embedder_choice()["leakage_separates"]
    assert separates["minilm/en"] and not separates["e5-small/fa"] and not separates["minilm/he"]
    result = SuiteResult("m", "s", [_run(0, "en", 1.0), _run(1, "en", 0.0), _run(2, "fa", 1.0), _run(3, "he", 1.0)],
                         1, [0.0], 1.0)
    text = table(result)
    assert "e5-small does not separate fa: no meaningful Leak-Rate" in text
    fa_line = next(line for line in text.splitlines() if line.startswith("fa "))
    assert "100.0" not in fa_line
    assert "separated only" in text and "50.0" in next(row for row in text.splitlines() if row.startswith("separated"))
    summary = json.loads(json.dumps(result.to_json()))["measures"]
    assert summary["auto"]["by_language"]["fa"]["leak_rate"] is None
    assert summary["auto"]["by_language"]["en"]["leak_rate"] == 50.0
    assert summary["auto"]["separated"] == {"leak_rate": 50.0, "ci95": [0.0, 100.0], "n_probes": 2}
    assert "cosine:minilm" in measures_table(result) and "he — (minilm, n=1)" in measures_table(result)
