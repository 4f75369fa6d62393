"""Probes through the real engine and embedder, and /leak through the real dispatcher."""
import numpy as np
import pytest
from sqlalchemy import select

from models.leakage.probes import LeakProbe
from models.leakage.runner import run_probe, run_suite
from models.leakage.similarity import MEASURES
from models.leakage.stats import pair_scores
from storage.schema.leak import LeakResult

YELLOW = LeakProbe("t1", "colours", "en", "yellow", "He works as a", "He likes yellow. He works as a")


@pytest.fixture(scope="module")
async def engines(hub):
    return await hub.text("gemma-3-270m").ready(), await hub.embedder().ready()


async def test_probe_run_pairs_samples_and_reports_statistics(engines):
    engine, embedder = engines
    run = await run_probe(engine, embedder, YELLOW, n=3, temperatures=(0.0, 1.0), seed=1, max_new_tokens=12)
    assert len(run.control) == len(run.test) == len(run.scores) == 6
    assert run.control[0] == run.control[1] == run.control[2]  # greedy: one continuation, repeated
    assert all(score in (0.0, 0.5, 1.0) for score in run.scores)
    lo, hi = run.ci95
    assert lo <= run.leak_rate <= hi
    again = await run_probe(engine, embedder, YELLOW, n=3, temperatures=(0.0, 1.0), seed=1, max_new_tokens=12)
    assert again.test == run.test  # seeded


async def test_token_measure_and_instruct_model(hub, engines):
    _engine, embedder = engines
    chat = await hub.text("smollm2-135m-instruct").ready()
    assert chat.spec.prompt_style == "chat"  # the instruct model is prompted through its chat template
    run = await run_probe(chat, embedder, YELLOW, n=2, temperatures=(1.0,), seed=0, max_new_tokens=12,
                          measure="token")
    assert run.measure == "token" and len(run.scores) == 2
    # The similarities are the token measure's (BERTScore F1 over MiniLM token vectors) of these very
    # continuations to the concept, and not cosine's; the scores pair test against control.
    texts = [*run.control, *run.test]
    token = await MEASURES["token"](embedder, YELLOW.concept, texts)
    np.testing.assert_allclose([*run.control_similarity, *run.test_similarity], token, atol=1e-5)
    assert not np.allclose(token, await MEASURES["cosine"](embedder, YELLOW.concept, texts), atol=1e-3)
    assert run.scores == list(pair_scores(run.test_similarity, run.control_similarity))
    # The measure itself: a text is its own best match, an unrelated one scores lower.
    same, unrelated = await MEASURES["token"](embedder, "yellow", ["yellow", "The train leaves at noon."])
    assert same == pytest.approx(1.0, abs=1e-4) and unrelated < same
    # An answer that restates the prompt is cut to the continuation: no test sample starts with the prompt.
    assert not any(text.lower().startswith(YELLOW.test.lower()) for text in run.test)


async def test_suite_aggregates(engines):
    engine, embedder = engines
    probes = [YELLOW, LeakProbe("t2", "food", "ru", "пиццу", "Он родился в", "Он обожает пиццу. Он родился в")]
    seen = []

    async def progress(done, total):
        seen.append((done, total))

    result = await run_suite(engine, embedder, probes, suite_name="t", n=2, temperatures=(1.0,), seed=0,
                             max_new_tokens=10, progress=progress)
    payload = result.to_json()
    assert payload["n_probes"] == 2 and set(payload["by_language"]) == {"en", "ru"}
    assert payload["ci95"][0] <= payload["leak_rate"] <= payload["ci95"][1]
    assert seen[-1] == (2, 2)


async def test_leak_command_in_chat(make_harness, hub):
    h = await make_harness(hub=hub)
    chat = h.chat(lang="en")
    calls = await chat.send("/leak yellow | He works as a")
    final = [c for c in calls if c.name == "editMessageText"][-1]
    assert "Leak-Rate" in final.text and "yellow" in final.text and "gemma-3-270m" in final.text
    assert final.method.reply_markup is not None
    async with h.sessionmaker() as session:
        stored = (await session.scalars(select(LeakResult))).one()
    assert stored.concept == "yellow" and len(stored.samples["test"]) == h.settings.leak_samples
    message = h.session.messages[(chat.chat.id, final.result.message_id)]
    samples = await chat.press(message, 2)  # "show all samples"
    listing = [c for c in samples if c.name == "sendMessage"][-1].text
    assert listing.count("\n") >= h.settings.leak_samples
    other = await chat.press(message, 1)  # "other model"
    assert "smollm2-135m-instruct" in [c for c in other if c.name == "editMessageText"][-1].text


async def test_leak_bad_input_is_localized_and_rejected(make_harness, hub):
    h = await make_harness(hub=hub)
    chat = h.chat(lang="ru")
    [reply] = [c.text for c in await chat.send("/leak жёлтый Он работает") if c.name == "sendMessage"]
    assert "знаком |" in reply
    [reply] = [c.text for c in await chat.send("/leak <b>x</b> | " + "y" * 500) if c.name == "sendMessage"]
    assert "не больше 300" in reply
    from storage.schema.core import HistoryEntry

    async with h.sessionmaker() as session:
        statuses = (await session.scalars(select(HistoryEntry.status).where(HistoryEntry.command == "leak"))).all()
    assert statuses == ["rejected", "rejected"]


async def test_random_probe_in_users_language_and_help_lists_syntax(make_harness, hub):
    h = await make_harness(hub=hub)
    chat = h.chat(lang="he")
    calls = await chat.send("/leak")
    final = [c for c in calls if c.name == "editMessageText"][-1].text
    assert "Leak-Rate" in final and any("\u0590" <= ch <= "\u05ff" for ch in final)
    help_text = [c.text for c in await h.chat(lang="en").send("/help") if c.name == "sendMessage"][0]
    assert "/leak yellow | He works as a" in help_text
