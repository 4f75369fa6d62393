"""The multilingual embedders load from their packages and embed every script; the committed per-language choice
(models/embedder_choice.json) is what the sentence-level evaluation measures now; measures that cannot run say so."""
import numpy as np
import pytest

from models.leakage import association, embedeval
from models.leakage.__main__ import _scorer
from models.leakage.probes import LeakProbe
from models.leakage.similarity import score_measure
from models.registry import best_embedder, best_measure, embedder_choice, grouping_embedder

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


async def _evaluate(hub, measures):
    data = association.read_association(association.DATA)
    scorers = {name: _scorer(name.rpartition(":")[0] or "cosine", await hub.embedder(name.rpartition(":")[2]).ready())
               for name in measures}
    return data, await association.evaluate(scorers, data)


async def test_each_chosen_measure_reaches_its_stored_accuracy(hub):
    """Fast: re-runs only the chosen measures (one per language) and checks their stored accuracy and the 0.8 bar."""
    committed = embedder_choice()
    _data, results = await _evaluate(hub, sorted(set(committed["similarity"].values())))
    by_key = {(r.embedder, r.language): r for r in results}
    for language in ("en", "ru", "fa", "he"):
        measure = best_measure(language)
        assert measure == committed["similarity"][language]
        assert best_embedder(language) == measure.rpartition(":")[2]
        measured = by_key[(measure, language)].paired_accuracy
        assert measured == pytest.approx(committed["paired_accuracy"][f"{measure}/{language}"], abs=0.02)
        assert measured >= association.ADEQUATE, language  # the target: no language's measure is weak


@pytest.mark.bench
@pytest.mark.slow  # every measure on 4 × 64 items (token:minilm item by item): minutes on the shared 2 cores
async def test_committed_choice_matches_the_evaluation(hub):
    """Re-runs the whole sentence-level evaluation and checks models/embedder_choice.json is what it measures now."""
    data, results = await _evaluate(hub, association.MEASURES)
    choice = association.choose_similarity(results)
    committed = embedder_choice()
    assert committed["similarity"] == choice["similarity"]
    assert committed["leakage_separates"] == choice["leakage_separates"]
    for key, value in choice["paired_accuracy"].items():
        assert committed["paired_accuracy"][key] == pytest.approx(value, abs=0.02), key  # ≤ 1 item of 64
    # MiniLM is an English model: on Persian and Hebrew sentences it is near chance, and the report says "weak".
    by_key = {(r.embedder, r.language): r for r in results}
    assert by_key[("minilm", "en")].adequate and not by_key[("minilm", "he")].adequate
    assert "weak" in association.report(results, choice, data)


async def test_committed_grouping_matches_the_crosslingual_evaluation(hub):
    items = embedeval.load_items()
    assert len(items) >= 50
    for task, language in [("paraphrase", "he"), ("association", "fa"), ("translation", "ru")]:
        positive, negative = embedeval.pairs(items, task, language)
        assert len(positive) == len(negative) == len(items)
        assert all(a != b for a, b in negative)
    engines = {name: (await hub.embedder(name).ready()).embed for name in embedeval.EMBEDDERS}
    separations = await embedeval.evaluate(engines, items)
    grouping = await embedeval.choose_grouping(engines, items, separations)
    committed = embedder_choice()
    assert committed["grouping"]["embedder"] == grouping["grouping"]["embedder"] == grouping_embedder()[0]
    assert abs(committed["grouping"]["threshold"] - grouping["grouping"]["threshold"]) < 0.02
    # MiniLM is an English model: across languages it is at chance, and the report says so.
    minilm = {(r.task, r.language): r for r in separations if r.embedder == "minilm"}
    assert minilm[("paraphrase", "en")].separates and not minilm[("translation", "he")].separates
    assert "does not separate" in embedeval.report(separations, grouping)


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
