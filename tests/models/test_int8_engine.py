"""int8-dynamic (models/cpu_int8.py) on the real Gemma through the engine: a row's text does not depend on what
shares its batch. The int8 linear is row-independent by construction (tests/models/test_sampling.py checks it bit
for bit on random weights); this checks the whole forward pass, float64 attention and left padding included."""
import asyncio

import pytest

from models.config import ModelSettings
from models.engine import LocalTextEngine
from models.loading import CPU_DEFAULT_PER_MODEL, CPU_DEFAULT_QUANTIZATION, pick_quantization
from models.registry import resolve


@pytest.fixture(scope="module")
async def int8_gemma():
    settings = ModelSettings(model_device="cpu", model_quantization="int8-dynamic")
    engine = LocalTextEngine(resolve("gemma-3-270m", settings), settings)
    await engine.ready()
    yield engine
    await engine.close(drain=False)


def test_auto_on_cpu_picks_the_measured_default_and_settings_override_it():
    def picked(name: str, **overrides) -> str:
        settings = ModelSettings(model_device="cpu", **overrides)
        return pick_quantization(resolve(name, settings), settings, "cpu")

    assert picked("gemma-3-270m") == CPU_DEFAULT_QUANTIZATION == "int8-dynamic"
    assert picked("smollm2-135m-instruct") == CPU_DEFAULT_PER_MODEL["smollm2-135m-instruct"] == "none"
    assert picked("gemma-3-270m", model_quantization="none") == "none"
    assert picked("smollm2-135m-instruct", model_quantization_per_model={"smollm2-135m-instruct": "int8-dynamic"}) \
        == "int8-dynamic"


async def test_int8_engine_is_quantized(int8_gemma):
    info = int8_gemma.info()
    assert info["quantization"] == "int8-dynamic" and info["dtype"] == "float32"


async def test_int8_greedy_batched_equals_alone(int8_gemma):
    prompts = ["The capital of France is", "He likes yellow. He works as a", "Москва — столица"]
    batched = await int8_gemma.generate(prompts, max_new_tokens=8)
    alone = [(await int8_gemma.generate([prompt], max_new_tokens=8))[0] for prompt in prompts]
    assert batched == alone


async def test_int8_same_seed_same_text_in_a_mixed_batch(int8_gemma):
    """The seeded request alone, then beside requests with other prompt lengths, seeds and temperatures, one of
    them joining while it runs (the batch is re-padded around it)."""
    request = {"n": 3, "temperature": 1.0, "top_p": 0.9, "seed": 11, "max_new_tokens": 8}
    alone = await int8_gemma.generate(["The old lighthouse keeper"], **request)

    async def later(delay: float, prompt: str, **options):
        await asyncio.sleep(delay)
        return await int8_gemma.generate([prompt], **options)

    mixed, *_ = await asyncio.gather(
        int8_gemma.generate(["The old lighthouse keeper"], **request),
        int8_gemma.generate(["A much longer prompt about the history of the Roman empire and its roads:"], n=2,
                            temperature=0.7, seed=3, max_new_tokens=4),
        later(0.2, "Short", n=2, temperature=1.3, seed=5, max_new_tokens=10))
    assert mixed == alone
    assert len(set(alone[0])) > 1  # the samples are really sampled, not one greedy text three times
