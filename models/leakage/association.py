"""Sentence-level association: does a measure put a concept closer to a sentence that evokes it without naming it
than to a same-shaped unrelated sentence? That is the comparison Leak-Rate makes (a concept against a generated
first sentence), so the measure of each language is chosen here. Format: JSON lines `{"id", "lang", "concept",
"related", "unrelated"}` (other fields ignored); a bad line is skipped with `file:line` and why, or rejected
under `strict`. Paired accuracy: share of items with sim(concept, related) > sim(concept, unrelated), a tie ½;
95 % Wilson score interval over the items."""
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).with_name("eval") / "sentence-association.jsonl"
FIELDS = ("id", "lang", "concept", "related", "unrelated")
LANGUAGES = ("en", "ru", "fa", "he")  # the bot's languages: `chosen` always names one measure for each
MEASURES = ("minilm", "use-multilingual", "e5-small", "token:minilm")  # preference order on ties
ADEQUATE = 0.8  # paired accuracy below this: the measure is reported as weak next to every rate it gives
TIE = 0.02  # a later measure must beat an earlier one by more than this (about one item in 64) to replace it
TIE_EPS = 1e-6  # |sim(related) − sim(unrelated)| within this is a tie, as in the Leak-Rate pair scores
Z95 = 1.959964
# (concepts, related, unrelated) -> (similarity to related, similarity to unrelated), one value per item
Scorer = Callable[[list[str], list[str], list[str]], Awaitable[tuple[np.ndarray, np.ndarray]]]
log = logging.getLogger(__name__)


class AssociationError(ValueError):
    """The file cannot be used: unreadable, no valid item, or (strict) any bad line."""


@dataclass(frozen=True)
class Item:
    id: str
    lang: str
    concept: str
    related: str
    unrelated: str


@dataclass
class AssociationSet:
    path: str
    items: list[Item]
    skipped: list[str] = field(default_factory=list)  # "file:line: why"

    def languages(self) -> list[str]:
        return list(dict.fromkeys(item.lang for item in self.items))


def _problem(record: Any, seen: set[str]) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    bad = [name for name in FIELDS if not isinstance(record.get(name), str) or not record[name].strip()]
    if bad:
        return f"missing or empty: {', '.join(bad)}"
    if record["id"] in seen:
        return f"duplicate id {record['id']!r}"
    if record["related"].strip() == record["unrelated"].strip():
        return "related and unrelated are the same sentence"
    if record["concept"].strip().casefold() in record["related"].casefold():
        return "the related sentence names the concept"
    return None


def read_association(path: str | Path, *, strict: bool = False) -> AssociationSet:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AssociationError(f"{path}: cannot read: {error}") from error
    items: list[Item] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            skipped.append(f"{path}:{number}: not valid JSON ({error.msg})")
            continue
        problem = _problem(record, seen)
        if problem:
            skipped.append(f"{path}:{number}: {problem}")
            continue
        seen.add(record["id"])
        items.append(Item(record["id"], record["lang"].strip().lower(), record["concept"].strip(),
                          record["related"].strip(), record["unrelated"].strip()))
    if strict and skipped:
        raise AssociationError(f"{len(skipped)} bad line(s):\n" + "\n".join(skipped))
    if not items:
        raise AssociationError(f"{path}: no valid item" + ("".join(f"\n{s}" for s in skipped)))
    for line in skipped:
        log.warning("skipped %s", line)
    return AssociationSet(str(path), items, skipped)


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (ties count ½ a success)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class PairedAccuracy:
    embedder: str  # the measure's name: an embedder (cosine on it) or "token:<embedder>"
    language: str
    paired_accuracy: float
    ci95: tuple[float, float]
    n: int
    mean_related: float
    mean_unrelated: float
    adequate: bool


async def evaluate(scorers: dict[str, Scorer], data: AssociationSet) -> list[PairedAccuracy]:
    results = []
    for name, scorer in scorers.items():
        for language in data.languages():
            items = [item for item in data.items if item.lang == language]
            related, unrelated = await scorer([i.concept for i in items], [i.related for i in items],
                                              [i.unrelated for i in items])
            difference = np.asarray(related) - np.asarray(unrelated)
            scores = np.where(np.abs(difference) <= TIE_EPS, 0.5, (difference > 0).astype(float))
            accuracy = float(scores.mean())
            low, high = wilson(float(scores.sum()), len(items))
            results.append(PairedAccuracy(name, language, round(accuracy, 4), (round(low, 4), round(high, 4)),
                                          len(items), round(float(np.mean(related)), 4),
                                          round(float(np.mean(unrelated)), 4), accuracy >= ADEQUATE))
    return results


def _order(name: str) -> int:
    return MEASURES.index(name) if name in MEASURES else len(MEASURES)


def choose_similarity(results: Sequence[PairedAccuracy]) -> dict[str, Any]:
    """Per language: the most accurate measure (a later one in MEASURES must win by more than TIE)."""
    chosen: dict[str, str] = {}
    accuracy: dict[str, dict[str, Any]] = {}
    for language in dict.fromkeys(r.language for r in results):
        best: PairedAccuracy | None = None
        for result in sorted((r for r in results if r.language == language), key=lambda r: _order(r.embedder)):
            if best is None or result.paired_accuracy > best.paired_accuracy + TIE:
                best = result
        assert best is not None  # every language in results has at least one row
        chosen[language] = best.embedder
        accuracy[language] = {"measure": best.embedder, "paired_accuracy": best.paired_accuracy,
                              "ci95": list(best.ci95), "n": best.n, "adequate": best.adequate}
    return {"similarity": chosen, "similarity_accuracy": accuracy,
            "paired_accuracy": {f"{r.embedder}/{r.language}": r.paired_accuracy for r in results},
            "leakage_separates": {f"{r.embedder}/{r.language}": r.adequate for r in results},
            "rule": f"highest sentence-level paired accuracy; ties within {TIE} keep the earlier of "
                    f"{list(MEASURES)}; weak below {ADEQUATE}"}


def chosen_for_languages(choice: dict[str, Any]) -> dict[str, str]:
    """{en, ru, fa, he, …: measure}: this evaluation's choice where the set has the language, else what `auto`
    uses now (models/embedder_choice.json)."""
    from models.registry import best_measure

    chosen = {language: best_measure(language) for language in LANGUAGES}
    chosen.update(choice["similarity"])
    return chosen


def report(results: Sequence[PairedAccuracy], choice: dict[str, Any], data: AssociationSet) -> str:
    lines = [f"{data.path}: {len(data.items)} items" + (f", {len(data.skipped)} skipped" if data.skipped else "")
             + " · paired accuracy, Wilson 95% CI",
             f"{'measure':<18}{'lang':<6}{'accuracy':>9}{'95% CI':>18}{'n':>5}{'sim rel':>9}{'sim unrel':>10}"]
    for r in results:
        lines.append(f"{r.embedder:<18}{r.language:<6}{r.paired_accuracy:>9.3f}"
                     f"{f'[{r.ci95[0]:.3f}, {r.ci95[1]:.3f}]':>18}{r.n:>5}{r.mean_related:>9.3f}"
                     f"{r.mean_unrelated:>10.3f}" + ("" if r.adequate else f"  weak (< {ADEQUATE})"))
    lines.append("-- chosen")
    for language, name in choice["similarity"].items():
        entry = choice["similarity_accuracy"][language]
        lines.append(f"{language}: {name} ({entry['paired_accuracy']:.3f})"
                     + ("" if entry["adequate"] else " weak: rates are pulled toward 50 (docs/leakage.md)"))
    return "\n".join(lines)


def to_json(results: Sequence[PairedAccuracy], choice: dict[str, Any], data: AssociationSet) -> dict[str, Any]:
    return {"data": data.path, "n_items": len(data.items), "skipped": data.skipped, "interval": "wilson",
            "adequate_accuracy": ADEQUATE, "chosen": chosen_for_languages(choice),
            "results": [asdict(r) | {"ci95": list(r.ci95)} for r in results], "choice": choice}
