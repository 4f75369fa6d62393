"""Similarity of continuations to the concept. Pluggable: a measure is registered by name and takes the
embedding engine, the concept and the texts. `cosine` (sentence embeddings, the paper's default) and `token`
(BERTScore-style greedy matching of contextual token embeddings) ship here."""
import asyncio
from collections.abc import Awaitable, Callable

import numpy as np

Measure = Callable[[object, str, list[str]], Awaitable[np.ndarray]]
MEASURES: dict[str, Measure] = {}


def register(name: str):
    def wrap(function: Measure) -> Measure:
        MEASURES[name] = function
        return function
    return wrap


def get_measure(name: str) -> Measure:
    if name not in MEASURES:
        raise KeyError(f"unknown similarity measure {name!r}; known: {', '.join(MEASURES)}")
    return MEASURES[name]


@register("cosine")
async def cosine(embedder, concept: str, texts: list[str]) -> np.ndarray:
    vectors = await embedder.embed([concept, *texts])
    return vectors[1:] @ vectors[0]


@register("token")
async def token_f1(embedder, concept: str, texts: list[str]) -> np.ndarray:
    """BERTScore F1 between the concept and each text from the embedder's contextual token vectors."""
    await embedder.ready()
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
    return matrix / np.maximum(norms, 1e-12)
