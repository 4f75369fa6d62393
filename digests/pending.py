"""Reading-list papers (/like, imported files) by arXiv id: stored papers first, then arXiv's id_list for the rest,
stored and linked to every chat's entry that waits for them. A paper arXiv could not describe (unreachable, failing)
stays pending; the scheduler's `digest:pending` job looks again with a growing wait (`Backoff`) until it resolves."""
import logging
from dataclasses import dataclass
from typing import Protocol

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from digests.language import detect_language
from digests.sources import FetchedItem
from storage.db import released
from storage.repo.digest import add_paper
from storage.repo.profile import link_reading_list, papers_by_key, pending_reading_ids
from storage.schema.base import utcnow

log = logging.getLogger(__name__)
LOOKUP_BATCH = 50  # ids per arXiv API request


class PaperLookup(Protocol):
    """digests.sources.ArxivClient (arXiv's id_list)."""

    async def by_ids(self, arxiv_ids: list[str]) -> list[FetchedItem]: ...


async def known_papers(session: AsyncSession, lookup: PaperLookup | None,
                       arxiv_ids: list[str]) -> dict[str, int | None]:
    """arXiv id → paper id: stored papers, then (no connection held) arXiv for the rest; None: unknown now."""
    found = {key.removeprefix("arxiv:"): paper.id
             for key, paper in (await papers_by_key(session, [f"arxiv:{i}" for i in arxiv_ids])).items()}
    missing = [i for i in arxiv_ids if i not in found]
    if missing and lookup is not None:
        fetched: list[FetchedItem] = []
        async with released(session):  # arXiv asks for 3 s between requests: no connection held meanwhile
            for start in range(0, len(missing), LOOKUP_BATCH):
                try:
                    fetched += await lookup.by_ids(missing[start:start + LOOKUP_BATCH])
                except httpx.HTTPError as error:  # unreachable or failing: the rest stays pending
                    log.warning("arXiv lookup failed: %s", type(error).__name__)
                    break
        for item in fetched:
            if item.external_id not in missing or item.external_id in found:
                continue
            paper = await add_paper(session, key=f"arxiv:{item.external_id}", title=item.title[:300],
                                    abstract=item.text, url=item.url, first_seen_at=utcnow(),
                                    language=detect_language(f"{item.title}. {item.text}"))
            found[item.external_id] = paper.id
    # Every chat's entry waiting for a paper known now gets it (also one stored since by a digest or /paper).
    for arxiv_id in missing:
        if found.get(arxiv_id) is not None:
            await link_reading_list(session, arxiv_id, found[arxiv_id])
    return {i: found.get(i) for i in arxiv_ids}


@dataclass(frozen=True)
class Resolved:
    pending: int  # ids that were waiting
    resolved: int  # of those, known now


async def resolve_pending(session: AsyncSession, lookup: PaperLookup | None, chat_id: int | None = None) -> Resolved:
    """Looks listed-but-unknown papers up again (of one chat, or of every chat)."""
    pending = await pending_reading_ids(session, chat_id)
    known = await known_papers(session, lookup, pending) if pending else {}
    return Resolved(len(pending), sum(1 for paper_id in known.values() if paper_id is not None))


class Backoff:
    """When the pending job may look again: at once after progress or with nothing pending; after a fruitless run
    (arXiv down, or ids it does not know) the wait doubles from `first_s` up to `max_s`."""

    def __init__(self, first_s: float = 600.0, max_s: float = 86_400.0) -> None:
        self.first_s, self.max_s = first_s, max_s
        self.wait_s = 0.0
        self.next_at = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def record(self, outcome: Resolved, now: float) -> None:
        if outcome.pending == 0 or outcome.resolved > 0:
            self.wait_s, self.next_at = 0.0, now
            return
        self.wait_s = min(self.max_s, self.wait_s * 2 if self.wait_s else self.first_s)
        self.next_at = now + self.wait_s
