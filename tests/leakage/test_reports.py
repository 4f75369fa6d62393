"""Suite reports give a Leak-Rate in every language; where the measure is weak there (per
models/embedder_choice.json) the number comes with the measure's paired accuracy and a note, never "—"."""
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
    return ProbeRun(probe, "m", [0.0], 1, ["c"], ["t"], [0.1], [0.2], [score], 0.1, 0, "cosine:minilm", "minilm",
                    {"cosine:minilm": plain, "auto": auto})


def test_weak_languages_get_their_number_with_the_measured_accuracy():
    separates, accuracy = embedder_choice()["leakage_separates"], embedder_choice()["paired_accuracy"]
    assert separates["minilm/en"] and not separates["minilm/fa"] and separates["e5-small/fa"]
    result = SuiteResult("m", "s", [_run(0, "en", 1.0), _run(1, "en", 0.0), _run(2, "fa", 1.0), _run(3, "he", 1.0)],
                         1, [0.0], 1.0)
    text = table(result)  # headline measure: cosine on MiniLM, weak in fa and he
    fa_line = next(line for line in text.splitlines() if line.startswith("fa "))
    assert "100.0" in fa_line and "—" not in text
    assert f"minilm {accuracy['minilm/fa']:.2f}: weak measure in fa, rate pulled toward 50" in fa_line
    assert "weak" not in next(line for line in text.splitlines() if line.startswith("en "))
    assert "adequate only" in text and "50.0" in next(row for row in text.splitlines() if row.startswith("adequate"))
    payload = json.loads(json.dumps(result.to_json()))
    for language in ("en", "fa", "he"):  # the contract: by_language[L].leak_rate is a number
        entry = payload["by_language"][language]
        assert isinstance(entry["leak_rate"], float) and len(entry["ci95"]) == 2 and entry["n_probes"] >= 1
    fa = payload["by_language"]["fa"]
    assert fa["weak"] and fa["paired_accuracy"] == accuracy["minilm/fa"] and "pulled toward 50" in fa["note"]
    assert not payload["by_language"]["en"]["weak"]
    auto = payload["measures"]["auto"]["by_language"]  # auto: e5-small in fa and he, adequate there
    assert auto["fa"]["leak_rate"] == 100.0 and not auto["fa"]["weak"] and auto["fa"]["embedder"] == "e5-small"
    assert payload["measures"]["cosine:minilm"]["separated"] == {"leak_rate": 50.0, "ci95": [0.0, 100.0],
                                                                 "n_probes": 2}
    listing = measures_table(result)
    assert f"he 100.0 [100.0, 100.0] n=1 weak (minilm {accuracy['minilm/he']:.2f})" in listing
    auto_line = next(line for line in listing.splitlines() if line.startswith("auto "))
    assert "fa 100.0 [100.0, 100.0] n=1 ·" in auto_line and "weak" not in auto_line
