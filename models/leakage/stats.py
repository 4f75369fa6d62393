"""The paper's paired comparison and its statistics."""
from collections.abc import Sequence

import numpy as np
from scipy.stats import binomtest

# Scores arrive as numpy arrays or plain lists of floats (ProbeRun keeps lists for JSON).
Scores = np.ndarray | Sequence[float]


def pair_scores(test_similarity: Scores, control_similarity: Scores, tie_tolerance: float = 1e-6) -> np.ndarray:
    """1 where the test continuation is closer to the concept than its paired control continuation, 0.5 on a tie,
    0 otherwise."""
    test, control = np.asarray(test_similarity, float), np.asarray(control_similarity, float)
    diff = test - control
    return np.where(np.abs(diff) <= tie_tolerance, 0.5, (diff > 0).astype(float))


def leak_rate(scores: Scores) -> float:
    """Mean pair score × 100: 50 means no leakage, above 50 means the concept leaks."""
    scores = np.asarray(scores, float)
    return float(scores.mean() * 100) if scores.size else float("nan")


def bootstrap_ci(scores: Scores, *, level: float = 0.95, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the Leak-Rate (seeded: the same data give the same interval)."""
    scores = np.asarray(scores, float)
    if scores.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = scores[rng.integers(0, scores.size, size=(resamples, scores.size))].mean(axis=1) * 100
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def sign_test_p(scores: Scores) -> float:
    """Two-sided exact sign test of "Leak-Rate = 50": wins against losses, ties dropped (binomial, p = 1/2)."""
    scores = np.asarray(scores, float)
    wins, losses = int((scores == 1).sum()), int((scores == 0).sum())
    if wins + losses == 0:
        return 1.0
    return float(binomtest(wins, wins + losses, 0.5, alternative="two-sided").pvalue)


def probe_sign_test_p(probe_rates: Scores) -> float:
    """Two-sided sign test over probes: a probe above 50 is a win, below 50 a loss, exactly 50 dropped. Pairs within
    one probe share a prompt and are not independent; probes are, so the suite is tested at the probe level."""
    rates = np.asarray(probe_rates, float)
    return sign_test_p(np.where(rates > 50, 1.0, np.where(rates < 50, 0.0, 0.5)))
