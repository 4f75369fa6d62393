"""Probe suites from outside: whole-word concept checks, the paper's table format, bad lines skipped with a warning
(or refused with --strict), and a paper-format suite run end to end through the bench CLI on a real model."""
import csv
import json
import logging

import pytest

from models.leakage.__main__ import main
from models.leakage.probes import PAPER_SUITE_EN, SuiteError, contains_word, load_suite, read_suite


@pytest.mark.parametrize("text, phrase, language, expected", [
    ("She sharpened her colored pencils", "red", "en", False),   # "red" inside "colored" is not the concept
    ("He likes RED. He works as a", "red", "en", True),           # case-insensitive
    ("He likes elephants.", "elephant", "en", True),              # plural
    ("He kicked the  bucket.", "kicked the bucket", "en", True),  # phrases, any spacing
    ("Он обожает котлеты.", "кот", "ru", False),
    ("Он живёт в Париже.", "Париж", "ru", True),                  # case ending
    ("הוא גר בפריז.", "פריז", "he", True),                        # attached preposition
    ("הוא אוהב את הצבע הצהוב", "צהוב", "he", True),               # definite article
    ("او فیل‌ها را دوست دارد", "فیل", "fa", True),                # plural after the zero-width non-joiner
    ("او فیلم دید", "فیل", "fa", False),                          # "film" is not "elephant"
])
def test_concepts_match_whole_words(text, phrase, language, expected):
    assert contains_word(text, phrase, language) is expected


def _paper_rows(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["prompt", "concept", "n_control", "category"])
        writer.writeheader()
        writer.writerows(rows)
    return path


PAPER_ROWS = [
    {"prompt": "He works as a", "concept": "", "n_control": "", "category": ""},                          # row 0
    {"prompt": "He likes yellow. He works as a", "concept": "yellow", "n_control": "0", "category": "colors"},
    {"prompt": "She sharpened her colored pencils and drew a", "concept": "", "n_control": "", "category": ""},
    # the published-suite case: "red" only inside "colored" — a valid probe
    {"prompt": "She likes red. She sharpened her colored pencils and drew a", "concept": "red", "n_control": "2",
     "category": "colors"},
    # truly bad: the concept is nowhere in its test prompt
    {"prompt": "He likes koalas. He works as a", "concept": "giraffes", "n_control": "0", "category": "animals"},
    {"prompt": "He plays the violin. He works as a", "concept": "violin", "n_control": "0", "category": "music"},
]


def test_paper_format_with_overlap_and_a_bad_line_loads_with_one_warning(tmp_path, caplog):
    path = _paper_rows(tmp_path / "paper.csv", PAPER_ROWS)
    with caplog.at_level(logging.WARNING, logger="models.leakage.probes"):
        suite = read_suite(path)
    assert suite.format == "paper-rows"
    assert [(p.concept, p.control) for p in suite.probes] == [
        ("yellow", "He works as a"), ("red", "She sharpened her colored pencils and drew a"),
        ("violin", "He works as a")]
    assert all(p.language == "en" for p in suite.probes)  # no language column: read from the script
    warnings = [r.getMessage() for r in caplog.records]
    # one warning, naming the file and the CSV line (header is line 1, so data row 4 is line 6) and why
    assert warnings == [f"{path}:6: the concept 'giraffes' does not occur in the test prompt"]
    assert suite.skipped == ["line 6: the concept 'giraffes' does not occur in the test prompt"]
    with pytest.raises(SuiteError) as error:
        read_suite(path, strict=True)
    assert error.value.problems == suite.skipped


def test_paper_pair_format_and_pointer_errors(tmp_path, caplog):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("concept\tcontrol_prompt\ttest_prompt\tcategory\n"
                     "koalas\tHis favorite food is\tHe likes koalas. His favorite food is\tanimals\n"
                     "снег\tОн работает\tОн любит снег. Он работает\tweather\n", encoding="utf-8")
    suite = read_suite(pairs, strict=True)
    assert suite.format == "paper-pairs" and [p.language for p in suite.probes] == ["en", "ru"]
    rows = _paper_rows(tmp_path / "pointers.csv", PAPER_ROWS[:2] + [
        {"prompt": "He likes red. He works as a", "concept": "red", "n_control": "9", "category": "colors"}])
    with caplog.at_level(logging.WARNING):
        assert len(load_suite(rows)) == 1
    assert "n_control 9 does not point at another row" in caplog.text


def test_jsonl_bad_lines_are_skipped_unless_strict(tmp_path):
    good = {"id": "a", "category": "c", "language": "en", "concept": "yellow", "control": "He works as a",
            "test": "He likes yellow. He works as a"}
    path = tmp_path / "suite.jsonl"
    path.write_text("\n".join([json.dumps(good), "{oops", json.dumps(good)]), encoding="utf-8")
    suite = read_suite(path)
    assert len(suite.probes) == 1 and suite.skipped == ["line 2: invalid JSON (Expecting property name enclosed in "
                                                        "double quotes)", "line 3: duplicate id 'a'"]
    with pytest.raises(SuiteError):
        read_suite(path, strict=True)
    path.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(SuiteError, match="no probes"):
        read_suite(path)  # nothing valid at all is an error even when lenient


def test_shipped_paper_format_suite_has_about_a_hundred_english_probes():
    suite = read_suite(PAPER_SUITE_EN, strict=True)
    assert suite.format == "paper-rows" and len(suite.probes) == 100
    assert {p.language for p in suite.probes} == {"en"}
    # it keeps the probes a substring test would have refused
    overlaps = [p for p in suite.probes if p.concept.lower() in p.control.lower()]
    assert {p.concept for p in overlaps} >= {"cat", "red"}


@pytest.mark.slow
def test_bench_runs_every_valid_probe_of_a_paper_suite_and_reports_skips(tmp_path, capsys):
    path = _paper_rows(tmp_path / "paper.csv", PAPER_ROWS)
    out = tmp_path / "out.json"
    assert main(["bench", "--suite", str(path), "--model", "gemma-3-270m", "--n", "1", "--temperatures", "0",
                 "--max-new-tokens", "8", "--measure", "cosine", "--json", str(out)]) == 0
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["n_probes"] == 3 and payload["skipped"] == 1 and payload["suite_format"] == "paper-rows"
    assert [p["probe"]["concept"] for p in payload["probes"]] == ["yellow", "red", "violin"]
    assert "(1 skipped)" in capsys.readouterr().out
    assert main(["bench", "--suite", str(path), "--strict", "--n", "1", "--temperatures", "0"]) == 2
    assert "giraffes" in capsys.readouterr().err
