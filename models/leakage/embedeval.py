"""How well each similarity measure does the job leakage gives it, per language, and which one `auto` uses.

Sentence-level association (`eval/sentence-association.jsonl`, or any outside set of that format): a concept, a
sentence that evokes it without naming it, a same-shaped unrelated sentence. Paired accuracy = share of items where
the concept is closer to the related sentence (a tie counts ½), with a Wilson 95 % interval; the measure of each
language is the most accurate one (`choose_similarity`), weak below `ADEQUATE`. Digest grouping is still chosen on
`eval/crosslingual.jsonl` (paraphrase, phrase association and translation pairs, AUC; `evaluate`/`choose_grouping`)."""
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

DATA = Path(__file__).with_name("eval") / "crosslingual.jsonl"
EMBEDDERS = ("minilm", "use-multilingual", "e5-small")  # preference order when results tie
LANGUAGES = ("en", "ru", "fa", "he")
SEPARATES_AUC = 0.75  # lower end of the AUC's 95 % interval; below it ranking by the embedder is mostly noise
NEGATIVE_OFFSET = 17  # item i is paired with item i+17 (mod n) as its unrelated negative
Embed = Callable[[list[str]], Awaitable[np.ndarray]]


@dataclass
class Separation:
    embedder: str
    task: str  # "paraphrase" | "association" | "translation"
    language: str
    n_positive: int
    n_negative: int
    mean_positive: float
    mean_negative: float
    gap: float
    auc: float
    auc_ci95: tuple[float, float]
    separates: bool


def load_items(path: str | Path = DATA) -> list[dict[str, str]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def pairs(items: Sequence[dict[str, str]], task: str, language: str) -> tuple[list[tuple[str, str]],
                                                                                list[tuple[str, str]]]:
    n = len(items)
    if task == "paraphrase":
        left, right = language, f"{language}_para"
    elif task == "association":
        left, right = f"{language}_concept", f"{language}_assoc"
    elif task == "translation" and language != "en":
        left, right = "en", language
    else:
        raise ValueError(f"no {task} pairs for {language}")
    positive = [(item[left], item[right]) for item in items]
    negative = [(items[i][left], items[(i + NEGATIVE_OFFSET) % n][right]) for i in range(n)]
    return positive, negative


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(positive > negative), ties counting half (the Mann–Whitney U statistic over n_pos·n_neg)."""
    statistic = mannwhitneyu(positive, negative, alternative="greater").statistic
    return float(statistic) / (len(positive) * len(negative))


def auc_interval(positive: np.ndarray, negative: np.ndarray, *, resamples: int = 1000,
                 seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    values = [auc(positive[rng.integers(0, len(positive), len(positive))],
                  negative[rng.integers(0, len(negative), len(negative))]) for _ in range(resamples)]
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


async def _cosines(embed: Embed, pairs_: list[tuple[str, str]]) -> np.ndarray:
    vectors = await embed([text for pair in pairs_ for text in pair])
    cosines: np.ndarray = np.einsum("ij,ij->i", vectors[0::2], vectors[1::2])
    return cosines


async def evaluate(embedders: dict[str, Embed], items: Sequence[dict[str, str]]) -> list[Separation]:
    results = []
    tasks = ([("paraphrase", lang) for lang in LANGUAGES] + [("association", lang) for lang in LANGUAGES]
             + [("translation", lang) for lang in LANGUAGES[1:]])
    for name, embed in embedders.items():
        for task, language in tasks:
            positive_pairs, negative_pairs = pairs(items, task, language)
            positive, negative = await _cosines(embed, positive_pairs), await _cosines(embed, negative_pairs)
            area, interval = auc(positive, negative), auc_interval(positive, negative)
            results.append(Separation(
                name, task, language, len(positive), len(negative), round(float(positive.mean()), 4),
                round(float(negative.mean()), 4), round(float(positive.mean() - negative.mean()), 4),
                round(area, 4), (round(interval[0], 4), round(interval[1], 4)), interval[0] >= SEPARATES_AUC))
    return results


def threshold(positive: np.ndarray, negative: np.ndarray) -> float:
    """The cosine cut that classifies the pairs best (balanced accuracy), halfway between neighbouring scores."""
    scores = np.sort(np.concatenate([positive, negative]))
    cuts = (scores[:-1] + scores[1:]) / 2
    accuracy = [((positive >= c).mean() + (negative < c).mean()) / 2 for c in cuts]
    return float(cuts[int(np.argmax(accuracy))])


async def choose_grouping(embedders: dict[str, Embed], items: Sequence[dict[str, str]],
                          results: list[Separation]) -> dict[str, Any]:
    """One grouping embedder (the best worst case over the translation tasks) with its calibrated same-paper
    threshold, and which embedder separates which cross-lingual task."""
    worst: dict[str, float] = {}
    for name in embedders:
        mine = [r for r in results if r.embedder == name and r.task == "translation"]
        if mine and all(r.separates for r in mine):
            worst[name] = min(r.auc for r in mine)
    grouping: dict[str, Any] = {"embedder": None, "threshold": None}
    if worst:
        name = max(worst, key=lambda n: (worst[n], -EMBEDDERS.index(n) if n in EMBEDDERS else -99))
        positive, negative = [], []
        for language in LANGUAGES[1:]:
            pos, neg = pairs(items, "translation", language)
            positive.append(await _cosines(embedders[name], pos))
            negative.append(await _cosines(embedders[name], neg))
        grouping = {"embedder": name, "threshold": round(threshold(np.concatenate(positive),
                                                                   np.concatenate(negative)), 3)}
    return {"grouping": grouping, "separates": {f"{r.embedder}/{r.task}/{r.language}": r.separates for r in results},
            "grouping_rule": f"translation AUC 95% CI low >= {SEPARATES_AUC} in every language pair; best worst case"}


def report(results: list[Separation], choice: dict[str, Any]) -> str:
    lines = [f"{'embedder':<18}{'task':<13}{'lang':<6}{'pos':>7}{'neg':>7}{'gap':>7}{'AUC':>7}{'95% CI':>16}  verdict"]
    for r in results:
        verdict = "separates" if r.separates else "does not separate"
        lines.append(f"{r.embedder:<18}{r.task:<13}{r.language:<6}{r.mean_positive:>7.3f}{r.mean_negative:>7.3f}"
                     f"{r.gap:>7.3f}{r.auc:>7.3f}{f'[{r.auc_ci95[0]:.3f}, {r.auc_ci95[1]:.3f}]':>16}  {verdict}")
    grouping = choice["grouping"]
    lines.append(f"grouping: {grouping['embedder'] or 'no embedder separates every language pair'}"
                 + (f" (threshold {grouping['threshold']})" if grouping["embedder"] else ""))
    return "\n".join(lines)


def to_json(results: list[Separation], choice: dict[str, Any], data: str | Path) -> dict[str, Any]:
    return {"data": str(data), "separates_auc": SEPARATES_AUC, "results": [asdict(r) for r in results],
            "choice": choice}
