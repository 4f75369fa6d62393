"""The interfaces handlers and services program against: what `ModelHub.text()` and `ModelHub.embedder()` return,
whichever backend serves the model (the local engine, an OpenAI-compatible endpoint, a test double).
Structural (`typing.Protocol`): an implementation does not inherit from them; mypy checks the shape, and
`isinstance` works at run time for the methods' presence (`runtime_checkable`)."""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from models.registry import ModelSpec


@runtime_checkable
class TextEngine(Protocol):
    """A text-generation engine. The contract is docs/architecture.md's: `generate` returns, for each prompt, its
    `n` continuations with the prompt stripped; it raises `models.errors` exceptions (EngineBusy, RequestTooLarge,
    RequestTimeout, EngineClosed, …); a cancelled call frees its work."""

    spec: ModelSpec

    @property
    def name(self) -> str: ...

    async def ready(self) -> TextEngine: ...

    def info(self) -> dict[str, Any]: ...

    def tokenize(self, text: str) -> list[str]: ...

    def format_prompt(self, text: str, instruction: str | None = None) -> str: ...

    async def generate(self, prompts: list[str], *, n: int = 1, temperature: float = 0.0, top_p: float = 1.0,
                       max_new_tokens: int = 32, stop: list[str] | None = None, seed: int | None = None,
                       timeout: float | None = None) -> list[list[str]]: ...

    async def close(self, drain: bool = True) -> None: ...


@runtime_checkable
class Embedder(Protocol):
    """A sentence embedder: `embed` returns float32 rows, L2-normalised (cosine similarity is a dot product)."""

    @property
    def name(self) -> str: ...

    async def ready(self) -> Embedder: ...

    async def embed(self, texts: list[str], timeout: float | None = None) -> np.ndarray: ...

    def info(self) -> dict[str, Any]: ...

    async def close(self, drain: bool = True) -> None: ...


Engine = TextEngine | Embedder  # what a ModelHub holds
