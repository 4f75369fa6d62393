"""Finding one paper for a card (/paper, link cards, inline mode): an arXiv id, an arxiv.org URL or `arxiv:` ref,
or title words. The local store first (papers the digests or a reading list know), then arXiv's API through the
digest's ArxivClient (id_list, or a title search ranked here by shared title words); a fetched paper is stored.
`Unreachable` means arXiv could not be asked now (the caller retries later); None means no such paper."""
import re
from dataclasses import dataclass
from typing import Protocol

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from digests.identity import ARXIV_CONTEXT, arxiv_ids, normalize_title
from digests.language import detect_language
from digests.sources import FetchedItem
from storage.db import released
from storage.repo.cards import papers_with_title_words
from storage.repo.digest import add_paper, paper_by_key
from storage.schema.base import utcnow
from storage.schema.digest import Paper

MAX_QUERY_CHARS = 300
MIN_WORD_CHARS = 3
MAX_WORDS = 8
# A message "is a link" to a paper when it names arXiv (a URL or `arxiv:`), not when it merely has a number in it.
LINK = re.compile(r"arxiv\.org/(?:abs|pdf|html)/|\barxiv:", re.IGNORECASE)


class Lookup(Protocol):
    """digests.sources.ArxivClient."""

    async def by_ids(self, arxiv_ids: list[str]) -> list[FetchedItem]: ...

    async def search(self, query: str, max_results: int | None = None) -> list[FetchedItem]: ...


class Unreachable(Exception):
    """arXiv did not answer (network error, 5xx, 429): the lookup can be tried again later."""


@dataclass(frozen=True)
class PaperQuery:
    arxiv_id: str | None  # an id (version dropped), or None for title words
    words: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return self.arxiv_id or " ".join(self.words)


def parse_query(text: str | None) -> PaperQuery | None:
    """The paper a user asked for; None for an empty or unusable query (no id and no word of 3+ letters)."""
    text = (text or "").strip()[:MAX_QUERY_CHARS]
    ids = arxiv_ids(text)
    if ids:
        return PaperQuery(ids[0])
    words = [w for w in normalize_title(text).split() if len(w) >= MIN_WORD_CHARS][:MAX_WORDS]
    return PaperQuery(None, tuple(words)) if words else None


def linked_arxiv_id(text: str) -> str | None:
    """The first arXiv id of a message that links arXiv (abs/pdf/html URL or `arxiv:`), for link cards."""
    if not LINK.search(text or "") and not ARXIV_CONTEXT.search(text or ""):
        return None
    ids = arxiv_ids(text)
    return ids[0] if ids else None


async def find_paper(session: AsyncSession, query: PaperQuery, lookup: Lookup | None) -> Paper | None:
    """The stored paper, else arXiv's (stored now); None when neither knows it; `Unreachable` when arXiv failed."""
    local = await _local(session, query)
    if local is not None or lookup is None:
        return local
    try:
        async with released(session):  # arXiv asks for 3 s between requests: no connection held meanwhile
            if query.arxiv_id is not None:
                items = await lookup.by_ids([query.arxiv_id])
            else:
                items = await lookup.search("ti:" + " AND ti:".join(query.words), max_results=10)
    except httpx.HTTPError as error:
        raise Unreachable(type(error).__name__) from error
    item = _best(items, query)
    if item is None:
        return None
    existing = await paper_by_key(session, f"arxiv:{item.external_id}")
    if existing is not None:
        if not existing.authors and item.authors:  # a paper first known from a post: arXiv names its authors
            existing.authors = ", ".join(item.authors)[:2000]
        return existing
    return await add_paper(session, key=f"arxiv:{item.external_id}", title=item.title[:300], abstract=item.text,
                           url=item.url, first_seen_at=utcnow(), authors=", ".join(item.authors)[:2000],
                           language=detect_language(f"{item.title}. {item.text}"))


async def _local(session: AsyncSession, query: PaperQuery) -> Paper | None:
    if query.arxiv_id is not None:
        return await paper_by_key(session, f"arxiv:{query.arxiv_id}")
    found = await papers_with_title_words(session, list(query.words))
    return found[0] if found else None


def _best(items: list[FetchedItem], query: PaperQuery) -> FetchedItem | None:
    if query.arxiv_id is not None:
        return next((item for item in items if item.external_id == query.arxiv_id), None)
    wanted = set(query.words)

    def shared(item: FetchedItem) -> int:
        return len(wanted & set(normalize_title(item.title).split()))

    best = max(items, key=shared, default=None)
    # Every asked word in the title: arXiv's search is fuzzy, and a card for the wrong paper is worse than none.
    return best if best is not None and shared(best) == len(wanted) else None
