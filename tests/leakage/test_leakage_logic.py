"""Suite validation, the paper's statistics, post-processing and user probes — no models needed."""
import json

import numpy as np
import pytest

from models.leakage import SuiteError, bootstrap_ci, leak_rate, load_suite, sign_test_p
from models.leakage.probes import DEFAULT_SUITE, LANGUAGES
from models.leakage.stats import pair_scores
from models.leakage.text import detect_script_language, first_sentence
from models.leakage.userprobe import UserProbeError, UserProbeLimits, parse_user_probe


def test_shipped_suite_is_valid_and_covers_the_categories_and_languages():
    probes = load_suite(DEFAULT_SUITE)
    assert len(probes) >= 120
    for language in LANGUAGES:
        assert sum(p.language == language for p in probes) >= 20
    assert {p.category for p in probes} == {"colours", "animals", "food", "names", "occupations", "places",
                                           "music", "idioms"}
    assert all(p.concept in p.test and p.test.endswith(p.control) for p in probes)


def write(tmp_path, lines):
    path = tmp_path / "suite.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_suite_validation_names_every_problem(tmp_path):
    good = {"id": "a", "category": "colours", "language": "en", "concept": "yellow", "control": "He works as a",
            "test": "He likes yellow. He works as a"}
    lines = [json.dumps(good),
             json.dumps({**good, "id": "b", "concept": "green"}),          # concept not in test
             json.dumps({k: v for k, v in good.items() if k != "control"} | {"id": "c"}),  # missing field
             json.dumps({**good, "id": "d", "language": "de"}),            # unsupported language
             json.dumps(good),                                             # duplicate id
             "{not json"]
    with pytest.raises(SuiteError) as error:
        load_suite(write(tmp_path, lines), strict=True)
    problems = " | ".join(error.value.problems)
    assert "line 2: the concept 'green' does not occur in the test prompt" in problems
    assert "line 3: missing or empty field(s) control" in problems
    assert "line 4: language 'de'" in problems
    assert "line 5: duplicate id 'a'" in problems
    assert "line 6: invalid JSON" in problems
    assert len(load_suite(write(tmp_path, [json.dumps(good), ""]))) == 1


def test_pair_scores_leak_rate_and_ties():
    scores = pair_scores([0.9, 0.2, 0.5, 0.3], [0.1, 0.4, 0.5, 0.3])
    assert scores.tolist() == [1.0, 0.0, 0.5, 0.5]
    assert leak_rate(scores) == 50.0
    assert leak_rate([1, 1, 1, 0.5]) == 87.5


def test_bootstrap_interval_contains_the_rate_and_is_reproducible():
    scores = np.array([1] * 30 + [0] * 10, float)
    lo, hi = bootstrap_ci(scores, seed=1)
    assert lo < leak_rate(scores) < hi and 55 < lo < 75 < hi < 90
    assert bootstrap_ci(scores, seed=1) == (lo, hi)
    assert bootstrap_ci([1.0] * 10) == (100.0, 100.0)


def test_sign_test_against_fifty():
    assert sign_test_p([1] * 10) == pytest.approx(2 / 1024)  # exact two-sided binomial
    assert sign_test_p([1, 0] * 10) == 1.0
    assert sign_test_p([0.5] * 8) == 1.0  # only ties: no evidence either way


@pytest.mark.parametrize("raw, expected", [
    (" school bus driver. He likes it.", "school bus driver."),
    (" водителем автобуса. Ему нравится.", "водителем автобуса."),
    (" راننده اتوبوس است؟ بله", "راننده اتوبوس است؟"),
    (" נהג אוטובוס. הוא אוהב", "נהג אוטובוס."),
    (" Dr. Smith's assistant\nNext line", "Dr. Smith's assistant"),
    ("", ""),
])
def test_first_sentence_in_four_scripts(raw, expected):
    assert first_sentence(raw) == expected


def test_user_probe_builds_a_concept_sentence_in_the_prompts_language():
    probe = parse_user_probe("yellow | He works as a")
    assert probe.test == "He likes yellow. He works as a" and probe.control == "He works as a"
    assert parse_user_probe("жёлтый | Он работает").test == "Ему нравится жёлтый. Он работает"
    assert parse_user_probe("زرد | او به عنوان").test == "او زرد را دوست دارد. او به عنوان"
    assert parse_user_probe("צהוב | הוא עובד בתור").language == "he"
    sentence = parse_user_probe("She grew up near the sea. | Her favourite food is")
    assert sentence.test == "She grew up near the sea. Her favourite food is"
    assert detect_script_language("123 !!!") == "en"


@pytest.mark.parametrize("arguments, code", [
    ("yellow He works as a", "separator"), (" | He works as a", "empty-concept"), ("yellow |  ", "empty-prompt"),
    ("yellow | " + "x" * 400, "too-long"),
])
def test_user_probe_errors(arguments, code):
    with pytest.raises(UserProbeError) as error:
        parse_user_probe(arguments, UserProbeLimits(max_chars=300))
    assert error.value.code == code


def test_a_restated_test_prompt_is_cut_so_the_concept_sentence_is_not_counted_as_leakage():
    from models.leakage.runner import _clean

    control, test = "He works as a", "He likes yellow. He works as a"
    assert _clean("He likes yellow. He works as a teacher. Then", test, control) == "teacher."
    assert _clean("He works as a teacher.", test, control) == "teacher."
    assert _clean("school bus driver.", test, control) == "school bus driver."
    assert _clean("He works as a nurse.", control) == "nurse."


def test_engine_limit_errors_name_the_limit_not_the_prompt():
    from handlers.i18n import Translator
    from handlers.model_errors import model_error_text
    from models.errors import EngineBusy, RequestTooLarge

    def plain(error: Exception) -> str:  # values come bidi-isolated (FSI…PDI); the words around them matter here
        return model_error_text(error, Translator("en"), "leak").replace("\u2068", "").replace("\u2069", "")

    text = plain(RequestTooLarge("n", 20, 16))
    assert "at most 16" in text and "prompt" not in text.lower()
    assert "(40 tokens, at most 32)" in plain(RequestTooLarge("prompt tokens", 40, 32))
    assert "3 requests in the queue" in plain(EngineBusy(4, 64))


def test_p_values_count_independent_evidence_only():
    from models.leakage.runner import ProbeRun
    from models.leakage.stats import probe_sign_test_p

    # Greedy (T=0) gives one continuation pair counted n=10 times in the rate, but once in the test.
    run = ProbeRun.__new__(ProbeRun)
    run.temperatures, run.n = [0.0, 1.0], 10
    run.scores = [1.0] * 10 + [1.0, 0.0] * 5
    assert run.p_value == 1.0  # 6 wins / 5 losses, not 15 / 5
    # The suite is tested per probe: 9 of 10 probes above 50 is significant, one probe at 100 with nine at 50 is not.
    assert probe_sign_test_p([60] * 9 + [40]) < 0.05
    assert probe_sign_test_p([100] + [50] * 9) == 1.0
