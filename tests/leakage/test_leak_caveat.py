"""A /leak answer in a language no embedder separates says so instead of presenting a number as a Leak-Rate."""
import pytest

from handlers.i18n import Translator
from handlers.leak import render_run
from models.leakage.probes import LeakProbe
from models.leakage.runner import ProbeRun
from models.registry import embedder_choice, embedder_separates


def _run(language: str) -> ProbeRun:
    probe = LeakProbe(id="t", category="color", language=language, concept="x", control="a", test="b")
    return ProbeRun(probe=probe, model="gemma-3-270m", temperatures=[1.0], n=2, control=["c1", "c2"],
                    test=["t1", "t2"], control_similarity=[0.1, 0.2], test_similarity=[0.3, 0.4],
                    scores=[1.0, 1.0], seconds=1.0)


def test_separation_follows_the_measured_choice() -> None:
    similarity = embedder_choice()["similarity"]
    for language in ("en", "ru", "fa", "he"):
        assert embedder_separates(language) is (similarity.get(language) is not None)


@pytest.mark.parametrize("language", ["en", "ru", "fa", "he"])
def test_caveat_only_where_no_embedder_separates(language: str) -> None:
    for ui in ("en", "ru", "fa", "he"):
        text = render_run(_run(language), Translator(ui))
        caveat = Translator(ui)("leak-unmeasurable", language=language)
        assert (caveat in text) is (not embedder_separates(language))
