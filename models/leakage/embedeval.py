"""How well each sentence embedder tells related from unrelated text, per language and across languages.

Data (`eval/crosslingual.jsonl`, written for this evaluation, not taken from any embedder's training or tuning
sets): 51 items, each one English sentence, its English paraphrase, its Russian, Persian and Hebrew translations and
a paraphrase of each translation (everyday topics and ML-paper topics), plus a concept word with an associated
phrase that shares no word with it ("yellow" / "a school bus driver"), in each of the four languages. Tasks:

* `paraphrase` (en, ru, fa, he): a sentence and its paraphrase in the same language (positive) against the same
  sentence and the paraphrase of an unrelated item (negative). Paraphrases share words, so an embedder that only
  sees surface overlap (MiniLM on non-English text) can pass this one;
* `association` (en, ru, fa, he): a concept and its associated phrase against the concept and another item's
  phrase — no shared words, which is what leakage similarity has to see ("yellow" vs "school bus driver");
* `translation` (en↔ru, en↔fa, en↔he): an English sentence and its translation (positive) against the same English
  sentence and the translation of an unrelated item (negative) — what grouping posts across languages needs.

Separation is reported as the gap (mean cosine of positives − of negatives) and the AUC (the probability that a
positive pair scores above a negative one; 0.5 = chance), with a seeded 95 % bootstrap interval. An embedder
*separates* a task when the interval's lower end reaches `SEPARATES_AUC`; where none does, the report says so
rather than ranking numbers that mean nothing."""
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
TIE_AUC = 0.02  # a later embedder must beat an earlier one by more than this to replace it
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


def _pick(candidates: list[Separation]) -> Separation | None:
    best: Separation | None = None
    for result in sorted(candidates, key=lambda r: EMBEDDERS.index(r.embedder) if r.embedder in EMBEDDERS else 99):
        if result.separates and (best is None or result.auc > best.auc + TIE_AUC):
            best = result
    return best


def threshold(positive: np.ndarray, negative: np.ndarray) -> float:
    """The cosine cut that classifies the pairs best (balanced accuracy), halfway between neighbouring scores."""
    scores = np.sort(np.concatenate([positive, negative]))
    cuts = (scores[:-1] + scores[1:]) / 2
    accuracy = [((positive >= c).mean() + (negative < c).mean()) / 2 for c in cuts]
    return float(cuts[int(np.argmax(accuracy))])


async def choose(embedders: dict[str, Embed], items: Sequence[dict[str, str]],
                 results: list[Separation]) -> dict[str, Any]:
    """The per-language leakage-similarity embedder (best on `association` among those that separate both
    `association` and `paraphrase` there), and one grouping embedder (the best worst case over the translation
    tasks) with its calibrated same-paper threshold."""
    by_key = {(r.embedder, r.task, r.language): r for r in results}
    leakage_separates = {f"{name}/{language}": by_key[(name, "association", language)].separates
                         and by_key[(name, "paraphrase", language)].separates
                         for name in embedders for language in LANGUAGES}
    similarity: dict[str, str | None] = {}
    for language in LANGUAGES:
        best = _pick([r for r in results if r.task == "association" and r.language == language
                      and leakage_separates[f"{r.embedder}/{language}"]])
        similarity[language] = best.embedder if best else None
    # Where nothing passes, the leakage similarity still runs on the embedder with the best association AUC (the
    # least attenuated Leak-Rate), and every report marks that language as not separated.
    fallback = {language: max((r for r in results if r.task == "association" and r.language == language),
                              key=lambda r: r.auc).embedder for language in LANGUAGES}
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
    separates = {f"{r.embedder}/{r.task}/{r.language}": r.separates for r in results}
    return {"similarity": similarity, "similarity_fallback": fallback, "grouping": grouping,
            "leakage_separates": leakage_separates,
            "separates": separates,
            "rule": f"AUC 95% CI low >= {SEPARATES_AUC}; ties within {TIE_AUC} keep the earlier of {list(EMBEDDERS)}"}


def report(results: list[Separation], choice: dict[str, Any]) -> str:
    lines = [f"{'embedder':<18}{'task':<13}{'lang':<6}{'pos':>7}{'neg':>7}{'gap':>7}{'AUC':>7}{'95% CI':>16}  verdict"]
    for r in results:
        verdict = "separates" if r.separates else "does not separate"
        lines.append(f"{r.embedder:<18}{r.task:<13}{r.language:<6}{r.mean_positive:>7.3f}{r.mean_negative:>7.3f}"
                     f"{r.gap:>7.3f}{r.auc:>7.3f}{f'[{r.auc_ci95[0]:.3f}, {r.auc_ci95[1]:.3f}]':>16}  {verdict}")
    lines.append("-- choice")
    for language, name in choice["similarity"].items():
        lines.append(f"similarity {language}: " + (name or f"no embedder separates {language} (the bench runs "
                                                          f"{choice['similarity_fallback'][language]} and says so)"))
    grouping = choice["grouping"]
    lines.append(f"grouping: {grouping['embedder'] or 'no embedder separates every language pair'}"
                 + (f" (threshold {grouping['threshold']})" if grouping["embedder"] else ""))
    return "\n".join(lines)


def to_json(results: list[Separation], choice: dict[str, Any], data: str | Path) -> dict[str, Any]:
    return {"data": str(data), "separates_auc": SEPARATES_AUC, "results": [asdict(r) for r in results],
            "choice": choice}
