"""The multilingual embedders load from their packages and embed every script; the committed per-language choice
(models/embedder_choice.json) is what the cross-lingual evaluation measures now; measures that cannot run say so."""
import numpy as np
import pytest

from models.leakage import embedeval
from models.leakage.probes import LeakProbe
from models.leakage.similarity import score_measure
from models.registry import best_embedder, embedder_choice, grouping_embedder

TEXTS = ["", "The cat sleeps on the sofa.", "Кошка спит на диване.", "گربه روی مبل خوابیده است.",
         "החתול ישן על הספה.", "!!!"]


@pytest.mark.parametrize("name", embedeval.EMBEDDERS)
async def test_embedders_return_unit_rows_for_every_script(hub, name):
    engine = await hub.embedder(name).ready()
    vectors = await engine.embed(TEXTS)
    assert vectors.shape[0] == len(TEXTS) and vectors.dtype == np.float32 and np.isfinite(vectors).all()
    norms = np.linalg.norm(vectors, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-3) | (norms < 1e-6))  # unit rows; an all-unknown text may be zero
    assert engine.has_token_vectors is (name == "minilm")


async def test_committed_choice_matches_the_evaluation(hub):
    items = embedeval.load_items()
    assert len(items) >= 50
    for task, language in [("paraphrase", "he"), ("association", "fa"), ("translation", "ru")]:
        positive, negative = embedeval.pairs(items, task, language)
        assert len(positive) == len(negative) == len(items)
        assert all(a != b for a, b in negative)
    engines = {name: (await hub.embedder(name).ready()).embed for name in embedeval.EMBEDDERS}
    results = await embedeval.evaluate(engines, items)
    choice = await embedeval.choose(engines, items, results)
    committed = embedder_choice()
    assert committed["similarity"] == choice["similarity"]
    assert committed["leakage_separates"] == choice["leakage_separates"]
    assert committed["grouping"]["embedder"] == choice["grouping"]["embedder"]
    assert abs(committed["grouping"]["threshold"] - choice["grouping"]["threshold"]) < 0.02
    # MiniLM is an English model: across languages it is at chance, and the report says so instead of ranking it.
    minilm = {(r.task, r.language): r for r in results if r.embedder == "minilm"}
    assert minilm[("paraphrase", "en")].separates and not minilm[("translation", "he")].separates
    assert "does not separate" in embedeval.report(results, choice)
    assert grouping_embedder()[0] == choice["grouping"]["embedder"]
    assert committed["similarity_fallback"] == choice["similarity_fallback"]
    for language, name in choice["similarity"].items():  # where none separates, the least bad one still runs
        assert best_embedder(language) == (name or choice["similarity_fallback"][language])


async def test_token_measure_needs_token_vectors_and_named_measures_need_a_hub(hub):
    probe = LeakProbe("p", "c", "en", "yellow", "He works as a", "He likes yellow. He works as a")
    e5 = await hub.embedder("e5-small").ready()
    with pytest.raises(ValueError, match="token vectors"):
        await score_measure("token", probe, ["a driver"], ["a bus driver"], embedder=e5, embedders=None)
    with pytest.raises(ValueError, match="pass embedders"):
        await score_measure("cosine:e5-small", probe, ["a"], ["b"], embedder=None, embedders=None)
    scored = await score_measure("cosine:e5-small", probe, ["a painter"], ["a school bus driver"], embedder=None,
                                 embedders=hub)
    assert scored.embedder == "e5-small" and len(scored.scores) == 1
