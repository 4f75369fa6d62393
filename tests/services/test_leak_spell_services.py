"""services/leak.py and services/spell.py: which probe a request means, bad input as user-input errors, a probe run
stored and read back for its buttons (the real embedded models and the real database), and stale results."""
import random

import pytest

from chatkit.errors import UserInputError
from models.errors import UnknownModel
from models.leakage.probes import LeakProbe
from services.leak import LeakPolicy, LeakService, default_suite
from services.spell import SpellService, parse

POLICY = LeakPolicy(samples=2, temperature=1.0, max_new_tokens=8, max_chars=60, bench_samples=1)


def test_a_random_probe_comes_from_the_suite_in_the_users_language(hub) -> None:
    service = LeakService(None, hub, POLICY, rng=random.Random(3))
    for language in ("en", "ru", "fa", "he"):
        probes = {service.probe_for("", language) for _ in range(5)}
        assert probes <= set(default_suite()) and {probe.language for probe in probes} == {language}


@pytest.mark.parametrize(("arguments", "code", "params"), [
    ("yellow He works as a", "separator", {}),
    (" | He works as a", "empty-concept", {}),
    ("yellow | " + "x" * 80, "too-long", {"limit": "60"}),
])
def test_bad_probes_are_user_input_errors(hub, arguments: str, code: str, params: dict[str, str]) -> None:
    with pytest.raises(UserInputError) as error:
        LeakService(None, hub, POLICY).probe_for(arguments, "en")
    assert (error.value.key, error.value.reason, error.value.params) == (f"leak-err-{code}", code, params)


def test_user_probe_and_model_rotation(hub) -> None:
    service = LeakService(None, hub, POLICY)
    probe = service.probe_for("yellow | He works as a", "ru")
    assert (probe.id, probe.concept, probe.control, probe.language) == ("user", "yellow", "He works as a", "en")
    names = hub.text_models()
    assert service.next_model(names[0]) == names[1 % len(names)]
    assert service.next_model(names[-1]) == names[0] and service.next_model("gone-model") == names[0]
    with pytest.raises(UnknownModel):
        service.bench_probes("no-such-model")  # answered before any background work starts
    assert list(service.bench_probes(names[0])) == list(default_suite())


@pytest.mark.slow
async def test_a_run_is_stored_and_read_back_for_its_buttons(sessionmaker, people, hub) -> None:
    probe = LeakProbe("t1", "colours", "en", "yellow", "He works as a", "He likes yellow. He works as a")
    async with sessionmaker() as session:  # autobegin; committed below, as the update middleware does
        outcome = await LeakService(session, hub, POLICY).run(probe, "gemma-3-270m", user_id=1, chat_id=1)
        await session.commit()
    assert len(outcome.run.scores) == POLICY.samples
    async with sessionmaker() as session:
        service = LeakService(session, hub, POLICY)
        stored = await service.stored(outcome.result_id)
        assert (stored.model, stored.concept) == ("gemma-3-270m", "yellow")
        # What the buttons need to run it again (the suite's category is not stored).
        assert (stored.probe.id, stored.probe.language, stored.probe.control, stored.probe.test) == (
            probe.id, probe.language, probe.control, probe.test)
        assert [row.test for row in stored.samples] == [text or "" for text in outcome.run.test]
        with pytest.raises(UserInputError) as stale:
            await service.stored(outcome.result_id + 1)
    assert (stale.value.key, stale.value.alert) == ("leak-stale", True)


@pytest.mark.parametrize(("arguments", "code"), [(None, "empty"), ("two words", "several"), ("a" * 49, "too-long")])
def test_bad_words_are_user_input_errors(arguments: str | None, code: str) -> None:
    with pytest.raises(UserInputError) as error:
        parse(arguments)
    assert error.value.key == f"spell-err-{code}"


@pytest.mark.slow
async def test_spelling_analysis_names_every_system(hub) -> None:
    word, language = parse("strawberry")
    analysis = await SpellService(hub).analyse(word, language)
    assert (analysis.word, analysis.language) == ("strawberry", "en")
    assert set(analysis.pieces) == set(analysis.llm) == {"gemma-3-270m", "smollm2-135m-instruct"}
    assert set(analysis.trained) == {"char-aware", "char-blind"}
    for pieces in analysis.pieces.values():  # the tokens put back together are the word
        assert "".join(pieces).replace("▁", "").replace("Ġ", "").strip() == "strawberry"
    assert analysis.correct() == {name: spelled == "strawberry"
                                  for name, spelled in {**analysis.llm, **analysis.trained}.items()}
