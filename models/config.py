"""Model-layer settings (environment / .env). Documented in docs/models.md and .env.example."""
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "paperbot" / "models"


class ExtraModel(BaseModel):
    """A Hugging Face model id or a local directory (a deployment's model cache)."""
    source: str
    kind: Literal["causal-lm", "embedder"] = "causal-lm"
    prompt_style: Literal["base", "chat"] = "chat"
    quantization: Literal["auto", "nf4", "int8", "none"] = "auto"


class RemoteModel(BaseModel):
    """An OpenAI-compatible endpoint (vLLM, llama.cpp server, Ollama): `base_url` ends before `/completions`."""
    base_url: str
    model: str
    prompt_style: Literal["base", "chat"] = "base"
    # "embedder": served at `/embeddings` (models/remote_embeddings.py) instead of `/completions`.
    kind: Literal["causal-lm", "embedder"] = "causal-lm"
    api_key_env: str | None = None  # name of the environment variable holding the key (never the key itself)
    timeout_s: float = 60.0
    retries: int = 3


class ModelSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      env_ignore_empty=True)  # `KEY=` in .env means "the default"

    model_cache_dir: Path = Field(default_factory=default_cache_dir)
    model_device: Literal["auto", "cpu", "cuda"] = "auto"
    # auto: nf4 on CUDA, none on CPU. A per-model `quantization` in EXTRA_MODELS wins.
    model_quantization: Literal["auto", "nf4", "int8", "none"] = "auto"
    default_text_model: str = "gemma-3-270m"
    # The embedder /leak uses: minilm (local), or a REMOTE_MODELS entry of kind "embedder" (no local model loaded).
    default_embedder: str = "minilm"

    engine_max_batch: int = Field(32, ge=1)
    engine_max_wait_ms: float = Field(15.0, ge=0)
    engine_queue_size: int = Field(64, ge=1)  # requests waiting to start; beyond it: EngineBusy
    engine_max_n: int = Field(16, ge=1)
    engine_max_new_tokens: int = Field(128, ge=1)
    engine_max_prompt_tokens: int = Field(512, ge=8)
    engine_request_timeout_s: float = Field(180.0, gt=0)
    torch_threads: int | None = None

    extra_models: dict[str, ExtraModel] = Field(default_factory=dict)
    remote_models: dict[str, RemoteModel] = Field(default_factory=dict)

    @field_validator("extra_models", "remote_models", mode="before")
    @classmethod
    def _json(cls, value: Any):
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value
