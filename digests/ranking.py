"""Ranking a subscription's candidate papers: its topic words, and the chat's interest profile (the papers it voted
👍/👎 on and its reading list, as multilingual embeddings, decayed with a half-life), so a 👍 on a paper described
in Russian lifts papers on the same subject in any language. Modes: `topics` (words only), `profile` (the profile
only), `both` (topic score plus the profile's pull, weighted by how much the chat has said). With no profile every
mode ranks exactly as `topics`. Each ranked paper keeps its reasons ("topic: dpo", "like ≈ 0.86 to 'Paper X'")."""
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import numpy as np

Mode = Literal["topics", "profile", "both"]
MODES: tuple[Mode, ...] = ("topics", "profile", "both")
Embed = Callable[[list[str]], Awaitable[np.ndarray]]
NEIGHBOURS = 3  # profile papers that speak for a candidate (several interests stay separate, unlike a centroid)
TOPIC_WEIGHT = 3.0  # the profile's full pull is worth one title match of a topic
CONFIDENCE_AT = 4.0  # decayed votes at which the profile gets half its full pull (a few votes move little)


class PaperLike(Protocol):
    id: int
    title: str
    abstract: str


class PostLike(Protocol):
    source_name: str
    language: str
    text: str


class CandidateLike(Protocol):
    """digests.compose.Candidate: a paper with its posts; ranking fills `score`, `matched` and `reasons`."""
    paper: Any
    posts: Any
    score: float
    matched: list[str]
    reasons: list[dict[str, Any]]


@dataclass(frozen=True)
class Signal:
    """One profile paper: weight > 0 liked, < 0 disliked (already decayed), with its vector."""
    paper_id: int
    title: str
    weight: float
    vector: np.ndarray


@dataclass
class Profile:
    signals: list[Signal] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(s.weight for s in self.signals)

    @property
    def mass(self) -> float:
        return sum(abs(s.weight) for s in self.signals)


def decay(age_days: float, half_life_days: float) -> float:
    """The weight left after `age_days` (1 today, ½ after one half-life)."""
    return 0.5 ** (max(age_days, 0.0) / half_life_days) if half_life_days > 0 else 1.0


def vote_weight(net: int, voted_at: datetime, now: datetime, half_life_days: float) -> float:
    """A paper's net votes in the chat (several readers count, up to ±2), decayed from the latest vote."""
    return max(-2, min(2, net)) * decay((now - voted_at).total_seconds() / 86400, half_life_days)


def paper_text(title: str, abstract: str) -> str:
    """What is embedded for a paper (the grouping embedder's probe: title + abstract, 512 characters)."""
    return f"{title}. {abstract}"[:512]


def topic_score(entry: CandidateLike, topics: Sequence[str], matches: Callable[[str, str], bool]) -> float:
    """Title matches weigh 3, abstract and post matches 1, plus 0.5 per distinct source and language (as before)."""
    title = entry.paper.title
    body = " \n".join([entry.paper.abstract] + [post.text for post in entry.posts])
    entry.matched = [t for t in topics if matches(t, title) or matches(t, body)]
    return (3 * sum(matches(t, title) for t in topics) + sum(matches(t, body) for t in topics)
            + 0.5 * len({p.source_name for p in entry.posts}) + 0.5 * len({p.language for p in entry.posts}))


def _affinity(vectors: np.ndarray, profile: Profile) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
    """For each candidate: the weighted mean similarity to its nearest liked papers minus that to its nearest
    disliked ones (a side with no papers counts as the pool's mean similarity: neutral), and the reasons."""
    matrix = np.stack([s.vector for s in profile.signals])
    weights = np.array([s.weight for s in profile.signals])
    sims = vectors @ matrix.T  # candidates × profile papers
    neutral = float(sims.mean())
    scores, reasons = [], []
    for row in sims:
        parts, why = [], []
        for sign, kind in ((1, "like"), (-1, "dislike")):
            side = np.flatnonzero(np.sign(weights) == sign)
            if side.size == 0:
                parts.append(neutral)
                continue
            nearest = side[np.argsort(-row[side])[:NEIGHBOURS]]
            w = np.abs(weights[nearest])
            parts.append(float((row[nearest] * w).sum() / w.sum()))
            top = int(nearest[0])
            why.append({"kind": kind, "label": profile.signals[top].title[:120],
                        "similarity": round(float(row[top]), 2)})
        scores.append(parts[0] - parts[1])
        reasons.append(why)
    return np.array(scores), reasons


def rank(entries: list[Any], topics: Sequence[str], size: int, *, matches: Callable[[str, str], bool],
         mode: Mode = "topics", profile: Profile | None = None,
         vectors: dict[int, np.ndarray] | None = None) -> list[Any]:
    """The `size` best candidates, best first, each with `score`, `matched` and `reasons`. `topics` mode (or no
    profile): papers matching a topic, by topic score; a subscription without topics takes every paper. `both`:
    topic score + TOPIC_WEIGHT × confidence × the profile affinity standardised over the candidates, where
    confidence = mass / (mass + CONFIDENCE_AT); a paper no topic matches enters when the profile pulls it up enough.
    `profile`: the affinity alone (topic score breaks ties). `vectors`: paper id → embedding (L2-normalised)."""
    for entry in entries:
        entry.score = topic_score(entry, topics, matches)
        entry.reasons = [{"kind": "topic", "label": t} for t in entry.matched]
    usable = [e for e in entries if vectors is not None and e.paper.id in vectors]
    if mode == "topics" or profile is None or profile.empty or not usable:
        chosen = [e for e in entries if e.matched or not topics]
        chosen.sort(key=lambda e: (-e.score, -e.paper.id))
        return chosen[:size]
    assert vectors is not None
    affinity, why = _affinity(np.stack([vectors[e.paper.id] for e in usable]), profile)
    spread = float(affinity.std())
    z = (affinity - affinity.mean()) / spread if spread > 1e-9 and len(usable) > 1 else np.zeros(len(usable))
    confidence = profile.mass / (profile.mass + CONFIDENCE_AT)
    pull = {id(e): (float(value), reasons) for e, value, reasons in zip(usable, z, why, strict=True)}
    for entry in entries:
        value, reasons = pull.get(id(entry), (0.0, []))
        if mode == "profile":
            entry.score = value + 0.01 * entry.score
        else:
            entry.score += TOPIC_WEIGHT * confidence * value
        if value > 0:
            entry.reasons += [r for r in reasons if r["kind"] == "like"]
        elif value < 0:
            entry.reasons += [r for r in reasons if r["kind"] == "dislike"]
    chosen = [e for e in entries if mode == "profile" or e.matched or not topics or pull.get(id(e), (0.0,))[0] > 0]
    chosen.sort(key=lambda e: (-e.score, -e.paper.id))
    return chosen[:size]


def describe(reason: dict[str, Any]) -> str:
    """A reason in plain words (language-neutral; the chat commands localize the kinds)."""
    if reason["kind"] == "topic":
        return f"topic: {reason['label']}"
    return f"{reason['kind']} ≈ {reason['similarity']:.2f} to '{reason['label']}'"


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (an embedder's output, or vectors read back from storage)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

