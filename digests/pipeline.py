"""From stored items to papers: identity first (arXiv id, DOI, normalized title), then embedding similarity for
posts that name no id, so the same paper discussed in several languages and sources becomes one paper."""
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from digests.identity import arxiv_ids, paper_key
from storage.db import released
from storage.repo.digest import add_paper, paper_by_key, papers_since, unassigned_items
from storage.schema.base import utcnow
from storage.schema.digest import DigestItem

log = logging.getLogger(__name__)
Embed = Callable[[list[str]], Awaitable[np.ndarray]]


@dataclass
class PostView:
    """One item as the grouping sees it."""
    item_id: int
    key: str | None
    title: str
    text: str
    language: str


@dataclass
class Group:
    key: str
    members: list[PostView] = field(default_factory=list)


def item_key(item: DigestItem, source_kind: str) -> str | None:
    # arXiv API entries carry their id as external id; posts and feed entries name it in their text, if at all.
    if source_kind in ("arxiv", "sample") and arxiv_ids(item.external_id):
        return f"arxiv:{arxiv_ids(item.external_id)[0]}"
    return paper_key(f"{item.url or ''} {item.text}", item.title if source_kind == "feed" else None)


def _probe_text(post: PostView) -> str:
    return f"{post.title}. {post.text}"[:512]


async def group_posts(posts: list[PostView], embed: Embed | None, threshold: float,
                      known: dict[str, np.ndarray] | None = None) -> list[Group]:
    """Posts with the same key are one group. A post without a key joins the most similar keyed group (cosine of
    sentence embeddings ≥ threshold), else the most similar earlier keyless group, else starts its own group.
    `known` adds already-stored papers (key → embedding) a new post may join."""
    groups: dict[str, Group] = {}
    for post in posts:
        if post.key:
            groups.setdefault(post.key, Group(post.key)).members.append(post)
    loose = [post for post in posts if not post.key]
    if not loose:
        return list(groups.values())
    if embed is None:
        for post in loose:
            groups[f"post:{post.item_id}"] = Group(f"post:{post.item_id}", [post])
        return list(groups.values())
    keys = list(groups)
    anchors = [_probe_text(groups[k].members[0]) for k in keys]
    vectors = await embed(anchors + [_probe_text(p) for p in loose])
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    anchor_vectors = list(vectors[: len(keys)])
    for key, vector in (known or {}).items():
        if key not in groups:
            keys.append(key)
            anchor_vectors.append(vector / max(np.linalg.norm(vector), 1e-9))
            groups[key] = Group(key)
    for post, vector in zip(loose, vectors[len(anchors):], strict=True):
        best, score = None, threshold
        for key, anchor in zip(keys, anchor_vectors, strict=True):
            similarity = float(anchor @ vector)
            if similarity >= score:
                best, score = key, similarity
        if best is None:
            best = f"post:{post.item_id}"
            keys.append(best)
            anchor_vectors.append(vector)
            groups[best] = Group(best)
        groups[best].members.append(post)
    return [group for group in groups.values() if group.members]


async def assign_papers(session: AsyncSession, embed: Embed | None, *, threshold: float,
                        lookback_days: int = 7, now: datetime | None = None) -> int:
    """Gives every item of the lookback window that has no paper yet its paper (created when new). Returns how many
    items were assigned."""
    now = now or utcnow()
    since = now - timedelta(days=lookback_days)
    rows = await unassigned_items(session, since)
    if not rows:
        return 0
    items = {item.id: item for item, _ in rows}
    posts = [PostView(item.id, item_key(item, kind), item.title, item.text, item.language) for item, kind in rows]
    # Keyless posts may be about a paper stored in an earlier run: offer recent papers as anchors.
    recent = await papers_since(session, since)
    known = {}
    async with released(session):  # the embedder may take seconds: no connection held meanwhile
        if embed is not None and any(p.key is None for p in posts) and recent:
            vectors = await embed([f"{paper.title}. {paper.abstract}"[:512] for paper in recent])
            known = {paper.key: vector for paper, vector in zip(recent, vectors, strict=True)}
        groups = await group_posts(posts, embed, threshold, known)
    for group in groups:
        paper = await paper_by_key(session, group.key)
        first = items[group.members[0].item_id]
        if paper is None:
            best = max(group.members, key=lambda m: (m.language == "en", len(m.text)))
            paper = await add_paper(session, key=group.key[:512], title=_title(items[best.item_id]),
                                    abstract=items[best.item_id].text, url=first.url, language=best.language,
                                    first_seen_at=now)
        for member in group.members:
            items[member.item_id].paper_id = paper.id
    return len(posts)


def _title(item: DigestItem) -> str:
    """The item's title, else its first line, else "untitled"."""
    lines = (item.text or "").strip().splitlines()
    return ((item.title or "").strip() or (lines[0] if lines else "") or "untitled")[:300]

