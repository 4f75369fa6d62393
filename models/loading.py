"""Loading weights: GGUF is dequantized by transformers once and cached as safetensors (with a checksum
manifest), then loaded from there in seconds, optionally quantized: bitsandbytes (nf4 / int8) or, on CPU,
PyTorch's fbgemm int8 kernels (int8-dynamic, models/cpu_int8.py)."""
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.config import ModelSettings
from models.errors import ModelUnavailable
from models.registry import ModelSpec

log = logging.getLogger(__name__)
MANIFEST = "paperbot-manifest.json"
FORMAT_VERSION = 1


@dataclass
class LoadedModel:
    spec: ModelSpec
    model: Any
    tokenizer: Any
    device: str
    dtype: str
    quantization: str
    footprint_bytes: int
    load_seconds: float

    def describe(self) -> dict[str, Any]:
        return {"name": self.spec.name, "device": self.device, "dtype": self.dtype,
                "quantization": self.quantization, "memory_mb": round(self.footprint_bytes / 2**20, 1),
                "load_s": round(self.load_seconds, 2)}


def pick_device(settings: ModelSettings) -> str:
    import torch

    if settings.model_device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if settings.model_device == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailable("cuda", "MODEL_DEVICE=cuda but torch sees no CUDA device")
    return settings.model_device


# Measured against float32 (bench/int8_quality.py, docs/models.md "Quantized CPU cost"): on Gemma faster (×1.64),
# smaller, Leak-Rate inside float32's CI, spelling no worse. MODEL_QUANTIZATION=none gives float32.
CPU_DEFAULT_QUANTIZATION = "int8-dynamic"
# Where the measurement said int8 does not win: SmolLM2's few-shot spelling fell below float32's CI (18.75 → 13.0 %,
# McNemar p = 0.005) for ×1.03 speed.
CPU_DEFAULT_PER_MODEL = {"smollm2-135m-instruct": "none"}


def pick_quantization(spec: ModelSpec, settings: ModelSettings, device: str) -> str:
    chosen: str = settings.model_quantization_per_model.get(spec.name, "auto")
    if chosen == "auto":
        chosen = spec.quantization if spec.quantization != "auto" else settings.model_quantization
    if chosen == "auto":
        return "nf4" if device == "cuda" else CPU_DEFAULT_PER_MODEL.get(spec.name, CPU_DEFAULT_QUANTIZATION)
    if chosen == "int8-dynamic" and device != "cpu":
        raise ModelUnavailable(spec.name, "int8-dynamic is a CPU mode; on CUDA use nf4, int8 or none")
    return chosen


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest_ok(directory: Path, source_sha: str) -> bool:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("format") != FORMAT_VERSION or manifest.get("source_sha256") != source_sha:
        return False
    for name, expected in manifest.get("files", {}).items():
        path = directory / name
        if not path.exists() or path.stat().st_size != expected["size"] or _sha256(path) != expected["sha256"]:
            log.warning("cached %s is corrupt; converting again", path)
            return False
    return True


# Libraries that print through stream handlers of their own (transformers, torch and huggingface_hub add one at
# import): plain text on stderr, past the application's redaction and LOG_FORMAT=json.
LIBRARY_LOGGERS = ("transformers", "torch", "huggingface_hub", "sentence_transformers", "accelerate", "tokenizers")


def adopt_library_logging() -> None:
    """Send the log lines of LIBRARY_LOGGERS through the application's handlers (the root logger's: redacted, JSON
    with LOG_FORMAT=json) instead of their own, and turn transformers' progress bars off when the process asked for
    none (HF_HUB_DISABLE_PROGRESS_BARS, set by bot/__main__.py when stdout is not a terminal). Called after each of
    them may have been imported (the loaders below; bot/runtime.py setup_logging); costs nothing when repeated."""
    import sys

    hf_logging = sys.modules.get("transformers.utils.logging")
    if hf_logging is not None:  # its own API: it would put its handler back the next time a logger is asked for
        hf_logging.disable_default_handler()
        hf_logging.enable_propagation()
        if os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS") == "1":
            hf_logging.disable_progress_bar()
    # Their child loggers too: torch puts a handler of its own on several ("torch.distributed", "torch._dynamo").
    names = [name for name in list(logging.root.manager.loggerDict)
             if name.split(".")[0] in LIBRARY_LOGGERS] + list(LIBRARY_LOGGERS)
    for name in names:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if type(handler) is logging.StreamHandler:  # to stderr or stdout; a file handler someone set stays
                logger.removeHandler(handler)
        logger.propagate = True


def converted_dir(spec: ModelSpec, settings: ModelSettings) -> Path:
    """The safetensors directory for a GGUF model, converting it on first use (under a file lock, so two
    processes never convert at once; atomically renamed into place)."""
    gguf = Path(spec.locate())
    source_sha = _source_digest(gguf)
    target = Path(settings.model_cache_dir) / spec.name
    if _manifest_ok(target, source_sha):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{spec.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _manifest_ok(target, source_sha):
            return target
        started = time.perf_counter()
        from transformers import AutoModelForCausalLM, AutoTokenizer

        adopt_library_logging()
        log.info("converting %s from GGUF to safetensors in %s (once)", gguf.name, target)
        staging = target.parent / f".{spec.name}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # transformers' model classes are only partly typed: the conversion treats the model as Any.
        model: Any = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype="float32")
        # The weights are already dequantized to float32; transformers still tags the model as "gguf-quantized"
        # and refuses to save it, so the tag goes before saving.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        files = {path.name: {"size": path.stat().st_size, "sha256": _sha256(path)}
                 for path in sorted(staging.iterdir()) if path.suffix == ".safetensors"}
        (staging / MANIFEST).write_text(json.dumps({"format": FORMAT_VERSION, "source": gguf.name,
                                                    "source_sha256": source_sha, "files": files}, indent=1))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        log.info("converted %s in %.1f s", spec.name, time.perf_counter() - started)
    return target


def _source_digest(path: Path) -> str:
    """SHA-256 of the GGUF, memoised next to the cache by size and mtime (hashing 250 MB at every start is waste)."""
    stat = path.stat()
    memo = path.with_name(path.name + ".sha256")
    key = f"{stat.st_size}:{int(stat.st_mtime)}"
    try:
        cached_key, digest = memo.read_text().split()
        if cached_key == key:
            return digest
    except (OSError, ValueError):
        pass
    digest = _sha256(path)
    try:
        memo.write_text(f"{key} {digest}")
    except OSError:  # a read-only site-packages: just hash again next time
        pass
    return digest


def quantization_config(quantization: str, compute_dtype: Any) -> Any:
    from transformers import BitsAndBytesConfig as _BitsAndBytesConfig

    BitsAndBytesConfig: Any = _BitsAndBytesConfig  # untyped constructor (transformers)
    if quantization == "nf4":
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                  bnb_4bit_compute_dtype=compute_dtype)
    if quantization == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    return None


def load_causal_lm(spec: ModelSpec, settings: ModelSettings, *, quantization: str | None = None,
                   device: str | None = None) -> LoadedModel:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adopt_library_logging()
    started = time.perf_counter()
    device = device or pick_device(settings)
    quantization = quantization or pick_quantization(spec, settings, device)
    source = str(converted_dir(spec, settings)) if spec.backend == "gguf" else str(spec.locate())
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        kwargs: dict[str, Any] = {"dtype": dtype}
        config = quantization_config(quantization, dtype)
        if config is not None:
            kwargs["quantization_config"] = config
            kwargs["device_map"] = {"": device if device == "cpu" else 0}
        # Any: transformers' generated model methods (to, eval, get_memory_footprint) carry no types.
        model: Any = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except OSError as error:
        raise ModelUnavailable(spec.name, f"cannot load {source}: {error}") from error
    if config is None:
        model.to(device)
    model.eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if quantization == "int8-dynamic":
        from models.cpu_int8 import footprint_bytes, quantize_linears, use_float64_attention

        replaced = quantize_linears(model)
        use_float64_attention(model)
        log.info("%s: %d linear layers on int8 kernels", spec.name, replaced)
        footprint = footprint_bytes(model)
    else:
        footprint = model.get_memory_footprint()
    return LoadedModel(spec, model, tokenizer, device, str(dtype).replace("torch.", ""), quantization, footprint,
                       time.perf_counter() - started)


def load_embedder(spec: ModelSpec, settings: ModelSettings, device: str | None = None) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the embedded model is on disk; never ask a hub
    from sentence_transformers import SentenceTransformer

    adopt_library_logging()
    device = device or pick_device(settings)
    return SentenceTransformer(str(spec.locate()), device=device)
