"""Similarity of continuations to the concept. Pluggable: a method is registered by name and takes the embedding
engine, the concept and the texts. `cosine` (sentence embeddings, the paper's default) and `token` (BERTScore-style
greedy matching of contextual token embeddings; MiniLM only) ship here.

A *measure* names a method and the embedder it runs on:
* `cosine`, `token` — the embedder the caller passes (MiniLM in the bot's defaults);
* `cosine:<embedder>`, `token:<embedder>` — a registry embedder (`cosine:e5-small`, `cosine:use-multilingual`);
* `auto` — the measure most accurate on sentence-level association in the probe's language
  (models.registry.best_measure)."""
import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from models.embeddings import EmbeddingEngine
from models.leakage.probes import LeakProbe
from models.leakage.stats import pair_scores
from models.protocols import Embedder

Measure = Callable[[Embedder, str, list[str]], Awaitable[np.ndarray]]
MEASURES: dict[str, Measure] = {}


def register(name: str) -> Callable[[Measure], Measure]:
    def wrap(function: Measure) -> Measure:
        MEASURES[name] = function
        return function
    return wrap


def get_measure(name: str) -> Measure:
    if name not in MEASURES:
        raise KeyError(f"unknown similarity measure {name!r}; known: {', '.join(MEASURES)}")
    return MEASURES[name]


@register("cosine")
async def cosine(embedder: Embedder, concept: str, texts: list[str]) -> np.ndarray:
    vectors = await embedder.embed([concept, *texts])
    similarities: np.ndarray = vectors[1:] @ vectors[0]
    return similarities


@register("token")
async def token_f1(embedder: Embedder, concept: str, texts: list[str]) -> np.ndarray:
    """BERTScore F1 between the concept and each text from the embedder's contextual token vectors."""
    if not getattr(embedder, "has_token_vectors", True):
        raise ValueError(f"the token measure needs contextual token vectors; {embedder.name} has none (use minilm)")
    await embedder.ready()
    # Token vectors come from the local engine's sentence-transformers model; no other embedder exposes one.
    if not isinstance(embedder, EmbeddingEngine):
        raise ValueError(f"the token measure needs a local embedding engine; {embedder.name} is not one")
    model = embedder.model

    def compute() -> np.ndarray:
        outputs = model.encode([concept, *texts], output_value="token_embeddings", convert_to_numpy=False,
                               show_progress_bar=False)
        matrices = [_normalise(out.float().cpu().numpy()[1:-1] if len(out) > 2 else out.float().cpu().numpy())
                    for out in outputs]
        reference = matrices[0]
        scores = []
        for candidate in matrices[1:]:
            if candidate.size == 0 or reference.size == 0:
                scores.append(0.0)
                continue
            similarity = candidate @ reference.T
            precision, recall = similarity.max(axis=1).mean(), similarity.max(axis=0).mean()
            scores.append(float(2 * precision * recall / (precision + recall)) if precision + recall > 0 else 0.0)
        return np.array(scores)

    return await asyncio.to_thread(compute)


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: np.ndarray = matrix / np.maximum(norms, 1e-12)
    return normalised


class EmbedderSource(Protocol):
    """Where named embedders come from (a models.hub.ModelHub)."""

    def embedder(self, name: str) -> Any: ...


@dataclass
class MeasureScores:
    embedder: str
    control: list[float]
    test: list[float]
    scores: list[float]


def resolve_measure(measure: str, language: str) -> tuple[str, str | None]:
    """(method, embedder name or None for the caller's own embedder)."""
    if measure == "auto":
        from models.registry import best_measure

        chosen = best_measure(language)  # "e5-small" (cosine on it) or "token:minilm"
        method, _, name = chosen.rpartition(":")
        return method or "cosine", name
    method, _, name = measure.partition(":")
    get_measure(method)  # unknown methods fail here, with the known ones named
    return method, name or None


def accuracy_key(method: str, embedder: str) -> str:
    """How models/embedder_choice.json names a measure: the embedder alone for cosine, else "method:embedder"."""
    return embedder if method == "cosine" else f"{method}:{embedder}"


def known_measure(measure: str) -> bool:
    try:
        resolve_measure(measure, "en")
    except KeyError:
        return False
    return True


async def score_measure(measure: str, probe: LeakProbe, control: Sequence[str], test: Sequence[str], *,
                        embedder: Any, embedders: EmbedderSource | None) -> MeasureScores:
    """Similarity of each control and test continuation to the concept, and the paired scores."""
    method, name = resolve_measure(measure, probe.language)
    engine = embedder
    if name is not None and (embedder is None or getattr(embedder, "name", None) != name):
        if embedders is None:
            raise ValueError(f"measure {measure!r} needs the embedder {name!r}: pass embedders= (a ModelHub)")
        engine = await embedders.embedder(name).ready()
    sims = await get_measure(method)(engine, probe.concept, [*control, *test])
    control_sim, test_sim = sims[:len(control)], sims[len(control):]
    return MeasureScores(engine.name, [float(x) for x in control_sim], [float(x) for x in test_sim],
                         [float(x) for x in pair_scores(test_sim, control_sim)])
