"""Model-layer settings, and `EnvSettings`: the one base class of every settings section.

Documented in docs/models.md and .env.example. The sections (bot, models, digests, image APIs) are composed into
one object, `bot.config.AppSettings`, built once by `python -m bot`; each CLI of `models/` builds its section once
with `Section.load()`. The base lives here, in the lowest layer that holds settings, because `models/` may not
import `bot/` while `bot/` and `digests/` may import `models/`."""
import json
import os
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The file `load()` reads by default (relative to the working directory, like the README's `make run`).
ENV_FILE = ".env"


class SettingsError(SystemExit):
    """Raised at start-up with one line naming the bad setting (never its value: it may be a secret)."""


class EnvSettings(BaseSettings):
    """The shared configuration of every section: flat upper-case environment names, `KEY=` meaning the default.

    Constructing a section directly reads only the process environment and the arguments (no `.env`: tests and
    library code never see a developer's file); `load()` is the start-up path that also reads `.env`."""
    model_config = SettingsConfigDict(env_file=None, env_file_encoding="utf-8", extra="ignore",
                                      env_ignore_empty=True)  # `KEY=` in .env means "the default"

    @classmethod
    def load(cls, env_file: str | Path | None = ENV_FILE, **overrides: Any) -> Self:
        """The section from the environment and `env_file`, failing with one line naming the bad setting."""
        try:
            return cls(_env_file=env_file, **overrides)
        except ValidationError as error:
            raise SettingsError(describe(error)) from None


def describe(error: ValidationError) -> str:
    """`Invalid setting NAME: reason` for the first error (pydantic's message, without the input value)."""
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "settings"
    return f"Invalid setting {name}: {first['msg']}"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "paperbot" / "models"


# int8-dynamic: int8 weights and per-row dynamic int8 activations on CPU (models/cpu_int8.py); nf4 / int8:
# bitsandbytes; none: bfloat16 on CUDA, float32 on CPU.
Quantization = Literal["auto", "nf4", "int8", "int8-dynamic", "none"]


class ExtraModel(BaseModel):
    """A Hugging Face model id or a local directory (a deployment's model cache)."""
    source: str
    kind: Literal["causal-lm", "embedder"] = "causal-lm"
    prompt_style: Literal["base", "chat"] = "chat"
    quantization: Quantization = "auto"


class RemoteModel(BaseModel):
    """An OpenAI-compatible endpoint (vLLM, llama.cpp server, Ollama): `base_url` ends before `/completions`."""
    base_url: str
    model: str
    prompt_style: Literal["base", "chat"] = "base"
    # "embedder": served at `/embeddings` (models/remote_embeddings.py) instead of `/completions`.
    kind: Literal["causal-lm", "embedder"] = "causal-lm"
    api_key_env: str | None = None  # name of the environment variable holding the key (never the key itself)
    # The key, read from `api_key_env` when the settings are built: code that calls the endpoint gets it from here,
    # never from the environment.
    api_key: SecretStr | None = None
    timeout_s: float = 60.0
    retries: int = 3

    @model_validator(mode="after")
    def _resolve_key(self) -> Self:
        if self.api_key is None and self.api_key_env and os.environ.get(self.api_key_env):
            self.api_key = SecretStr(os.environ[self.api_key_env])
        return self


class ModelSettings(EnvSettings):
    """The models section: local model cache, device and quantization, engine limits, extra and remote models."""

    model_cache_dir: Path = Field(default_factory=default_cache_dir)
    model_device: Literal["auto", "cpu", "cuda"] = "auto"
    # auto: nf4 on CUDA, int8-dynamic on CPU. MODEL_QUANTIZATION_PER_MODEL, then an EXTRA_MODELS entry's own
    # `quantization`, win over it.
    model_quantization: Quantization = "auto"
    model_quantization_per_model: dict[str, Quantization] = Field(default_factory=dict)
    default_text_model: str = "gemma-3-270m"
    # The embedder /leak uses: minilm (local), or a REMOTE_MODELS entry of kind "embedder" (no local model loaded).
    default_embedder: str = "minilm"

    engine_max_batch: int = Field(32, ge=1)
    engine_max_batch_tokens: int = Field(16384, ge=64)  # KV cache tokens the running batch may reserve
    engine_max_wait_ms: float = Field(15.0, ge=0)
    engine_queue_size: int = Field(64, ge=1)  # requests waiting to start; beyond it: EngineBusy
    engine_max_n: int = Field(16, ge=1)
    engine_max_new_tokens: int = Field(128, ge=1)
    engine_max_prompt_tokens: int = Field(512, ge=8)
    engine_request_timeout_s: float = Field(180.0, gt=0)
    torch_threads: int | None = None

    extra_models: dict[str, ExtraModel] = Field(default_factory=dict)
    remote_models: dict[str, RemoteModel] = Field(default_factory=dict)

    @field_validator("extra_models", "remote_models", "model_quantization_per_model", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value
