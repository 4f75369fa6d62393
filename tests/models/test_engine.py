"""The local batching engine on the real embedded models (CPU)."""
import asyncio

import pytest

from models.config import ModelSettings
from models.engine import LocalTextEngine
from models.errors import BadRequest, EngineBusy, EngineClosed, RequestTimeout, RequestTooLarge
from models.registry import resolve

PROMPTS = ["The capital of France is", "He likes yellow. He works as a", "Москва — столица",
           "My favourite food is"]


@pytest.fixture(scope="module")
async def gemma(hub):
    return await hub.text("gemma-3-270m").ready()


def small_engine(**overrides) -> LocalTextEngine:
    """A separate SmolLM2 engine with its own limits (loads in about a second from the cache)."""
    settings = ModelSettings(**overrides)
    return LocalTextEngine(resolve("smollm2-135m-instruct", settings), settings)


async def test_greedy_batched_equals_unbatched(gemma):
    batched = await gemma.generate(PROMPTS, max_new_tokens=12)
    alone = [await gemma.generate([prompt], max_new_tokens=12) for prompt in PROMPTS]
    assert batched == [result[0] for result in alone]
    assert all(len(text) > 0 for (text,) in batched)


async def test_same_seed_same_samples_whatever_shares_the_batch(gemma):
    first = await gemma.generate(["He works as a"], n=4, temperature=1.0, seed=7, max_new_tokens=10)
    again, _other = await asyncio.gather(
        gemma.generate(["He works as a"], n=4, temperature=1.0, seed=7, max_new_tokens=10),
        gemma.generate(["Something else entirely:"], n=3, temperature=1.0, seed=1, max_new_tokens=10))
    assert first == again
    different = await gemma.generate(["He works as a"], n=4, temperature=1.0, seed=8, max_new_tokens=10)
    assert different != first
    assert len(set(first[0])) > 1  # samples within a request differ


async def test_stop_strings_cut_the_continuation(gemma):
    [[text]] = await gemma.generate(["The capital of France is"], max_new_tokens=24, stop=["."])
    assert "." not in text and text.strip()
    [[full]] = await gemma.generate(["The capital of France is"], max_new_tokens=24)
    assert full.startswith(text + ".")  # cut at the first stop string, and decoding stopped there
    [[two]] = await gemma.generate(["The capital of France is"], max_new_tokens=24, stop=["zzz", " of "])
    assert two == full[:full.find(" of ")]


async def test_same_seed_same_text_in_mixed_batches(gemma):
    """A seeded request alone, then sharing steps with requests of other lengths, temperatures and top-p that join
    and leave while it runs (continuous batching re-pads and trims the batch around it)."""
    request = {"n": 3, "temperature": 1.0, "top_p": 0.9, "seed": 11, "max_new_tokens": 14}
    alone = await gemma.generate(["The old lighthouse keeper"], **request)

    async def later(delay: float, prompt: str, **options):
        await asyncio.sleep(delay)
        return await gemma.generate([prompt], **options)

    mixed, *_ = await asyncio.gather(
        gemma.generate(["The old lighthouse keeper"], **request),
        gemma.generate(["A much longer prompt about the history of the Roman empire and its roads:"], n=2,
                       temperature=0.7, seed=3, max_new_tokens=4),
        later(0.3, "Short", n=4, temperature=1.3, seed=5, max_new_tokens=20),
        later(0.6, "Greedy row", max_new_tokens=6))
    assert mixed == alone


async def test_samples_of_a_prompt_share_one_prefill(gemma):
    before_rows, before_steps = gemma.batch.prefill_rows, gemma.queue.admissions
    [texts] = await gemma.generate(["My favourite colour is"], n=8, temperature=1.0, seed=2, max_new_tokens=6)
    assert len(texts) == 8 and len(set(texts)) > 1
    assert gemma.batch.prefill_rows - before_rows == 1  # the prompt ran once for its eight samples
    assert gemma.queue.admissions - before_steps == 1


async def test_short_request_does_not_wait_for_a_long_one(gemma):
    long = asyncio.create_task(gemma.generate(["Write a long story:"], max_new_tokens=120,
                                              temperature=1.0, seed=1))
    await asyncio.sleep(0.5)
    [[short]] = await gemma.generate(["The capital of France is"], max_new_tokens=3)
    assert short.strip() and not long.done()
    [[story]] = await long
    assert story


async def test_fifty_concurrent_callers_get_their_own_results(gemma):
    prompts = [f"Number {i} is written as" for i in range(50)]
    before = gemma.queue.admissions
    results = await asyncio.gather(*(gemma.generate([p], max_new_tokens=4) for p in prompts))
    admissions = gemma.queue.admissions - before
    assert admissions < 50 / 4  # coalesced, not one by one
    for index in (0, 17, 49):
        assert results[index] == await gemma.generate([prompts[index]], max_new_tokens=4)


async def test_cancellation_frees_the_slot_and_timeout_raises():
    engine = small_engine(engine_max_batch=1, engine_queue_size=2)
    try:
        await engine.ready()
        long = asyncio.create_task(engine.generate(["Tell a story:"], max_new_tokens=100))
        await asyncio.sleep(0.05)
        queued = asyncio.create_task(engine.generate(["Queued one"], max_new_tokens=100))
        await asyncio.sleep(0.05)
        assert engine.queue.queued == 1
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        assert engine.queue.queued == 0  # the cancelled request left the queue at once
        long.cancel()
        with pytest.raises(asyncio.CancelledError):
            await long
        with pytest.raises(RequestTimeout):
            await engine.generate(["Another story:"], max_new_tokens=100, timeout=0.05)
        [[text]] = await engine.generate(["Hello"], max_new_tokens=3)  # the engine still serves
        assert isinstance(text, str)
    finally:
        await engine.close(drain=False)


async def test_queue_overflow_rejects_with_position():
    engine = small_engine(engine_max_batch=1, engine_queue_size=2)
    try:
        await engine.ready()
        tasks = [asyncio.create_task(engine.generate([f"Story {i}:"], max_new_tokens=30)) for i in range(6)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        busy = [r for r in results if isinstance(r, EngineBusy)]
        assert busy and all(error.position >= 3 and error.capacity == 2 for error in busy)
        assert any(isinstance(r, list) for r in results)
    finally:
        await engine.close(drain=False)


async def test_shutdown_finishes_in_flight_work_and_refuses_new():
    engine = small_engine()
    await engine.ready()
    task = asyncio.create_task(engine.generate(["Once upon a time"], max_new_tokens=8))
    await asyncio.sleep(0.01)
    await engine.close(drain=True)
    assert len((await task)[0]) == 1
    with pytest.raises(EngineClosed):
        await engine.generate(["Too late"], max_new_tokens=2)


async def test_event_loop_keeps_running_during_generation(gemma):
    """The engine works on its own thread: while a generation is in flight, other coroutines keep being scheduled
    (a loop blocked by the model would run none of them until the generation returned). Timings are measured by
    bench/responsiveness.py, not here."""
    generation = asyncio.create_task(gemma.generate(PROMPTS, n=4, temperature=1.0, seed=0, max_new_tokens=40))
    ticks = 0
    while not generation.done() and ticks < 20:
        await asyncio.sleep(0.005)
        ticks += 1
    assert ticks == 20 and not generation.done(), "the event loop did not run while the model generated"
    assert len(await generation) == len(PROMPTS)


async def test_bad_input(gemma):
    with pytest.raises(BadRequest):
        await gemma.generate([""])
    with pytest.raises(BadRequest):
        await gemma.generate(["   "])
    with pytest.raises(RequestTooLarge) as too_long:
        await gemma.generate(["word " * 2000])
    assert too_long.value.what == "prompt tokens" and too_long.value.limit == gemma.settings.engine_max_prompt_tokens
    with pytest.raises(RequestTooLarge):
        await gemma.generate(["Hi"], n=gemma.settings.engine_max_n + 1)
    with pytest.raises(RequestTooLarge):
        await gemma.generate(["Hi"], max_new_tokens=gemma.settings.engine_max_new_tokens + 1)
    with pytest.raises(BadRequest):
        await gemma.generate(["Hi"], temperature=-1)


async def test_chat_template_and_tokenizer_view(hub):
    chat = await hub.text("smollm2-135m-instruct").ready()
    prompt = chat.format_prompt("He works as a", instruction="Complete the sentence.")
    assert "Complete the sentence." in prompt and prompt.endswith("assistant\n")
    [[answer]] = await chat.generate([prompt], max_new_tokens=12)
    assert answer.strip()
    gemma = await hub.text("gemma-3-270m").ready()
    assert gemma.format_prompt("He works as a") == "He works as a"  # base model: plain continuation
    pieces = gemma.tokenize("клубника")
    assert len(pieces) > 1 and "".join(pieces).replace(" ", "") == "клубника"


async def test_embeddings_are_normalised_and_batched(hub):
    embedder = hub.embedder("minilm")
    vectors, more = await asyncio.gather(embedder.embed(["yellow", "school bus", "banana"]),
                                         embedder.embed(["yellow"]))
    assert vectors.shape == (3, 384)
    assert abs(float((vectors ** 2).sum(axis=1).max()) - 1.0) < 1e-4
    assert float(vectors[0] @ more[0]) > 0.999
