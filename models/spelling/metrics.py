"""Exact match and character error rate with their 95 % intervals, and per-character marks for showing errors."""
import math
from collections.abc import Sequence
from dataclasses import dataclass


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(predicted: str, target: str) -> float:
    return edit_distance(predicted, target) / max(len(target), 1)


def wilson_ci(correct: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a proportion (95 % by default), as fractions; (nan, nan) for no trials. Unlike the
    normal approximation it stays inside [0, 1] and is not empty at 0 or n correct."""
    if total <= 0:
        return math.nan, math.nan
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_mean_ci(values: Sequence[float], *, level: float = 0.95, resamples: int = 2000,
                      seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean (seeded: the same values give the same interval). Used for mean CER,
    whose per-word values are mostly 0 with a long right tail, where a t interval would be symmetric and can go
    below 0."""
    import numpy as np

    data = np.asarray(values, float)
    if data.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


@dataclass
class SpellingResult:
    system: str
    word: str
    predicted: str

    @property
    def correct(self) -> bool:
        return self.predicted == self.word

    @property
    def cer(self) -> float:
        return cer(self.predicted, self.word)

    def marks(self) -> list[tuple[str, bool]]:
        """Each predicted character with whether it matches the word at that position (for highlighting)."""
        return [(char, index < len(self.word) and self.word[index] == char)
                for index, char in enumerate(self.predicted)]
