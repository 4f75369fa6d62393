"""A chat's interest profile from the database, and ranking a subscription's candidates with it: the chat's votes
(digest_votes cast in the chat) and its reading list, each paper embedded once with the grouping embedder (cached
by text hash in digest_paper_embeddings), decayed with DIGEST_PROFILE_HALF_LIFE_DAYS. The embedder runs with no
database connection held (storage.db.released). The ranking itself is digests/ranking.py."""
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from digests.ranking import MODES, Mode, Profile, Signal, decay, paper_text, rank, unit_rows, vote_weight
from storage.db import released
from storage.repo.profile import (
    embeddings,
    papers_by_id,
    reading_list,
    save_rankings,
    store_embedding,
    vote_signals,
)
from storage.schema.digest import Paper, Subscription

log = logging.getLogger(__name__)


class Embedder(Protocol):
    @property
    def name(self) -> str: ...

    async def ready(self) -> Any: ...

    async def embed(self, texts: list[str], timeout: float | None = None) -> np.ndarray: ...


@dataclass(frozen=True)
class Weighted:
    paper: Paper
    weight: float  # > 0 liked, < 0 disliked, decayed
    origin: str  # vote | like | import


def aware(moment: datetime) -> datetime:
    """SQLite gives stored times back without their zone (they are UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


async def profile_papers(session: AsyncSession, chat_id: int, *, now: datetime,
                         half_life_days: float) -> list[Weighted]:
    """The chat's liked and disliked papers with their decayed weights (a paper both voted on and listed counts
    once: the votes, which are the chat's latest word on it)."""
    votes = {v.paper_id: v for v in await vote_signals(session, chat_id) if v.net}
    listed = [e for e in await reading_list(session, chat_id) if e.paper_id is not None and e.paper_id not in votes]
    papers = await papers_by_id(session, list(votes) + [e.paper_id for e in listed if e.paper_id is not None])
    out = [Weighted(papers[pid], vote_weight(v.net, aware(v.last_at), now, half_life_days), "vote")
           for pid, v in votes.items() if pid in papers]
    for entry in listed:
        age = (now - aware(entry.created_at)).total_seconds() / 86400
        if entry.paper_id in papers:
            out.append(Weighted(papers[entry.paper_id], decay(age, half_life_days), entry.origin))
    return out


async def paper_vectors(session: AsyncSession, papers: Sequence[Paper], embedder: Embedder) -> dict[int, np.ndarray]:
    """paper id → unit vector of title + abstract; cached ones are read, the rest embedded (no connection held
    meanwhile) and stored."""
    texts = {paper.id: paper_text(paper.title, paper.abstract) for paper in papers}
    cached = await embeddings(session, list(texts), embedder.name)
    vectors = {pid: np.frombuffer(blob, dtype=np.float32) for pid, (digest, blob) in cached.items()
               if digest == text_hash(texts[pid])}
    missing = [pid for pid in texts if pid not in vectors]
    if missing:
        async with released(session):
            await embedder.ready()
            fresh = unit_rows(await embedder.embed([texts[pid] for pid in missing]))
        for pid, vector in zip(missing, fresh, strict=True):
            vectors[pid] = vector
            await store_embedding(session, pid, embedder.name, text_hash(texts[pid]), vector.tobytes())
    return vectors


async def rank_subscription(session: AsyncSession, subscription: Subscription, found: list[Any], *,
                            matches: Any, embedder: Embedder | None, now: datetime,
                            half_life_days: float) -> list[Any]:
    """The subscription's issue order (digests.ranking.rank) with the chat's profile where its mode uses one."""
    topics, size = list(subscription.topics or []), subscription.size
    mode: Mode = next((m for m in MODES if m == subscription.mode), "both")
    if mode == "topics" or embedder is None or not found:
        return rank(found, topics, size, matches=matches)
    weighted = await profile_papers(session, subscription.chat_id, now=now, half_life_days=half_life_days)
    if not weighted:  # no profile: exactly the topic ranking
        return rank(found, topics, size, matches=matches)
    try:
        vectors = await paper_vectors(session, [w.paper for w in weighted] + [e.paper for e in found], embedder)
    except Exception as error:  # noqa: BLE001 - an embedder failure must not cost the issue: topics still rank
        log.warning("profile ranking for subscription %s fell back to topics: %s", subscription.id,
                    type(error).__name__)
        return rank(found, topics, size, matches=matches)
    profile = Profile([Signal(w.paper.id, w.paper.title, w.weight, vectors[w.paper.id]) for w in weighted])
    return rank(found, topics, size, matches=matches, mode=mode, profile=profile, vectors=vectors)


async def record_ranking(session: AsyncSession, issue_id: int, chosen: Sequence[Any]) -> None:
    """Stores why each paper of the issue is where it is (for /sources)."""
    await save_rankings(session, issue_id, [(e.paper.id, e.score, list(getattr(e, "reasons", []) or []))
                                            for e in chosen])
