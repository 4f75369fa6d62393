"""Fetching: arXiv's API (Atom, paged, ≥ 3 s apart), RSS/Atom feeds, channel posts and /submit. Every item is
stored once (unique by source and external id); a failing source is logged, counted and retried next run."""
import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from digests.config import DigestSettings
from digests.identity import arxiv_ids, links
from digests.language import detect_language
from storage.db import released
from storage.repo.digest import ensure_source, insert_items
from storage.schema.base import utcnow
from storage.schema.digest import DigestSource

log = logging.getLogger(__name__)


@dataclass
class FetchedItem:
    external_id: str
    title: str
    text: str
    url: str | None
    published_at: datetime
    authors: tuple[str, ...] = ()  # arXiv entries only


class ArxivClient:
    """arXiv asks clients to wait at least 3 s between requests; one client paces all its calls."""

    def __init__(self, settings: DigestSettings, client: httpx.AsyncClient):
        self.settings, self.client = settings, client
        self._last = 0.0
        self._lock = asyncio.Lock()

    async def _get(self, params: dict) -> str:
        async with self._lock:
            wait = self._last + self.settings.arxiv_request_spacing_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                response = await self.client.get(self.settings.arxiv_api_base, params=params)
            finally:
                self._last = time.monotonic()
        response.raise_for_status()
        return response.text

    async def search(self, query: str, max_results: int | None = None) -> list[FetchedItem]:
        limit = max_results or self.settings.arxiv_max_results
        items: list[FetchedItem] = []
        start = 0
        while start < limit:
            page = min(self.settings.arxiv_page_size, limit - start)
            feed = feedparser.parse(await self._get({"search_query": query, "start": start, "max_results": page,
                                                     "sortBy": "submittedDate", "sortOrder": "descending"}))
            entries = [_entry(entry) for entry in feed.entries]
            items.extend(entries)
            total = int(feed.feed.get("opensearch_totalresults", len(items)) or 0)
            start += page
            if len(entries) < page or start >= total:
                break
        return items


    async def by_ids(self, arxiv_ids: list[str]) -> list[FetchedItem]:
        """The papers with these ids (arXiv's `id_list`; unknown ids are simply absent)."""
        if not arxiv_ids:
            return []
        feed = feedparser.parse(await self._get({"id_list": ",".join(arxiv_ids), "max_results": len(arxiv_ids)}))
        return [_entry(entry) for entry in feed.entries if entry.get("title")]


def arxiv_query(categories: list[str], keywords: list[str]) -> str:
    parts = []
    if categories:
        parts.append("(" + " OR ".join(f"cat:{c}" for c in categories) + ")")
    if keywords:
        parts.append("(" + " OR ".join(f'all:"{k}"' if " " in k else f"all:{k}" for k in keywords) + ")")
    return " AND ".join(parts) or "cat:cs.CL"


def _entry(entry: Any) -> FetchedItem:
    """`entry` is a feedparser FeedParserDict (feedparser ships no type information)."""
    link = entry.get("link") or next((ref.get("href") for ref in entry.get("links", []) if ref.get("href")), None)
    ids = arxiv_ids(entry.get("id", "") + " " + (link or ""))
    published = entry.get("published_parsed") or entry.get("updated_parsed")
    if published:
        # feedparser gives a UTC time.struct_time; its first six fields are year … second.
        year, month, day, hour, minute, second = published[:6]
        when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    else:
        when = utcnow()
    summary = " ".join((entry.get("summary") or "").split())
    names = (" ".join((author.get("name") or "").split()) for author in entry.get("authors", []))
    authors = tuple(name for name in names if name)
    return FetchedItem(ids[0] if ids else (entry.get("id") or link or entry.get("title", "")), " ".join(
        (entry.get("title") or "").split()), summary, link, when, authors)


async def fetch_feed(client: httpx.AsyncClient, url: str) -> list[FetchedItem]:
    response = await client.get(url)
    response.raise_for_status()
    feed = feedparser.parse(response.text)
    if feed.bozo and not feed.entries:
        raise ValueError(f"not a feed: {feed.get('bozo_exception')}")
    return [_entry(entry) for entry in feed.entries]


async def source(session: AsyncSession, kind: str, locator: str, name: str) -> DigestSource:
    return await ensure_source(session, kind, locator, name)


async def store(session: AsyncSession, src: DigestSource, items: list[FetchedItem]) -> int:
    """Insert what is new and record the source's success (its health); returns how many were new. Duplicates
    (same source + external id) are skipped."""
    new = await insert_items(session, src, [dict(
        source_id=src.id, external_id=item.external_id[:512], title=item.title, text=item.text, url=item.url,
        language=detect_language(f"{item.title}. {item.text}"), published_at=item.published_at,
        created_at=utcnow()) for item in items])
    src.items_total += new
    src.failures, src.last_error = 0, None
    src.last_ok_at = src.last_fetch_at = utcnow()
    return new


async def fetch_source(session: AsyncSession, src: DigestSource, settings: DigestSettings,
                       client: httpx.AsyncClient, arxiv: ArxivClient) -> int:
    """Fetch one source; failures are recorded on the source (health), never raised."""
    try:
        async with released(session):  # a feed or arXiv may take seconds: no connection held meanwhile
            if src.kind == "arxiv":
                items = await arxiv.search(src.locator)
            elif src.kind == "feed":
                items = await fetch_feed(client, src.locator)
            else:
                return 0
    except Exception as error:  # noqa: BLE001 - any failure: count it, keep the scheduler alive
        src.last_fetch_at = utcnow()
        src.failures += 1
        src.last_error = f"{type(error).__name__}: {str(error)[:300]}"
        log.warning("source %s (%s) failed: %s", src.name, src.kind, src.last_error)
        return 0
    return await store(session, src, items)


async def ingest_post(session: AsyncSession, *, chat_id: int, message_id: int, text: str, title: str,
                      published_at: datetime | None = None, kind: str = "channel") -> int:
    """A channel post (or a /submit): stored as an item of that channel's source."""
    src = await source(session, kind, str(chat_id) if kind == "channel" else "submit", title)
    first_line = text.strip().splitlines()[0][:300] if text.strip() else ""
    item = FetchedItem(f"{chat_id}:{message_id}", first_line, text, next(iter(links(text)), None),
                       published_at or utcnow())
    return await store(session, src, [item])
