"""A /leak answer names its measure's accuracy when that measure is weak in the probe's language, and adds nothing
where the measure passes (models/embedder_choice.json: today every language's chosen measure passes)."""
import pytest

from handlers.i18n import Translator
from handlers.leak import render_run
from models.leakage.association import ADEQUATE
from models.leakage.probes import LeakProbe
from models.leakage.runner import ProbeRun
from models.registry import best_embedder, embedder_choice, embedder_separates, weak_measure_accuracy


def _run(language: str, embedder: str = "") -> ProbeRun:
    probe = LeakProbe(id="t", category="color", language=language, concept="x", control="a", test="b")
    return ProbeRun(probe=probe, model="gemma-3-270m", temperatures=[1.0], n=2, control=["c1", "c2"],
                    test=["t1", "t2"], control_similarity=[0.1, 0.2], test_similarity=[0.3, 0.4],
                    scores=[1.0, 1.0], seconds=1.0, embedder=embedder)


def test_every_language_has_an_adequate_measure() -> None:
    accuracy = embedder_choice()["similarity_accuracy"]
    for language in ("en", "ru", "fa", "he"):
        assert embedder_separates(language) is (accuracy[language]["paired_accuracy"] >= ADEQUATE)
        assert embedder_separates(language), f"{language}: the chosen measure is weak"


@pytest.mark.parametrize("language", ["en", "ru", "fa", "he"])
def test_no_warning_where_the_language_measure_passes(language: str) -> None:
    for ui in ("en", "ru", "fa", "he"):
        text = render_run(_run(language), Translator(ui))
        warning = Translator(ui)("leak-weak-measure", language=language, measure=best_embedder(language),
                                 accuracy="0.00").split("(")[0]
        assert warning not in text and "⚠️" not in text


@pytest.mark.parametrize("ui", ["en", "ru", "fa", "he"])
def test_weak_measure_is_shown_with_its_measured_accuracy(ui: str) -> None:
    # MiniLM (an English model) on Hebrew: what an operator's DEFAULT_EMBEDDER=minilm would give.
    accuracy = weak_measure_accuracy("minilm", "he")
    assert accuracy is not None and accuracy < ADEQUATE
    text = render_run(_run("he", embedder="minilm"), Translator(ui))
    assert Translator(ui)("leak-weak-measure", language="he", measure="minilm", accuracy=f"{accuracy:.2f}") in text
    assert f"{accuracy:.2f}" in text and "minilm" in text
