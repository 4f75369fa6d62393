"""The digest jobs: fetch every source, group new posts into papers, and build + deliver one subscription's issue.
Each step commits on its own, so a crash between steps loses nothing and repeats nothing: a fetched item is stored
once, an issue exists once per (subscription, scheduled slot), a delivery is sent at most once."""
import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from digests.calendar import ArxivCalendar, Window, issue_window, previous_slot, render_quiet
from digests.compose import candidates, matches, render_empty, render_issue, summarize
from digests.config import DigestSettings
from digests.pending import Resolved, resolve_pending
from digests.pipeline import assign_papers
from digests.profile import rank_subscription, record_ranking
from digests.sources import ArxivClient, arxiv_query, fetch_source, source
from digests.summary import Provenance, Summarizer, summarizer_for
from storage.db import released
from storage.repo.digest import (
    active_topics,
    add_issue,
    deactivate_arxiv_sources_except,
    ensure_deliveries,
    fetchable_source_ids,
    get_source,
    get_subscription,
    issue_for,
)
from storage.schema.base import utcnow
from storage.schema.digest import Subscription

log = logging.getLogger(__name__)
MAX_ARXIV_KEYWORDS = 20  # one query; arXiv's query strings get slow and brittle beyond that


@dataclass
class IssueResult:
    issue_id: int
    papers: int
    text: str
    created: bool  # False when this slot's issue already existed (a repeated or coalesced run)


def last_slot(subscription: Subscription, now: datetime) -> datetime:
    """The latest scheduled time of the subscription at or before `now`, in its timezone."""
    local = now.astimezone(ZoneInfo(subscription.timezone))
    hour, minute = map(int, subscription.time.split(":"))
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if slot > local:
        slot -= timedelta(days=1)
    if subscription.schedule == "weekly" and subscription.weekday is not None:
        slot -= timedelta(days=(slot.weekday() - subscription.weekday) % 7)
    return slot


class DigestService:
    """Everything the scheduler runs, usable from a CLI and tests too. `translator(lang)` returns a callable
    `l10n(key, **args) -> str` (the bot's Fluent translator); `broadcaster` delivers pending rows."""

    def __init__(self, settings: DigestSettings, sessionmaker: async_sessionmaker[AsyncSession], *, translator,
                 hub=None, broadcaster=None, http: httpx.AsyncClient | None = None):
        self.settings, self.sessionmaker, self.translator = settings, sessionmaker, translator
        self.hub, self.broadcaster = hub, broadcaster
        self._http = http
        self._arxiv: ArxivClient | None = None
        self._calendar: ArxivCalendar | None = None  # loaded on first use (DIGEST_CALENDAR=arxiv)

    @property
    def http(self) -> httpx.AsyncClient:
        # Made on first use: a dispatcher built for a test or a console session that never fetches owns no client.
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=True,
                                           headers={"User-Agent": "paperbot-digest/1.0 (Telegram paper-digest bot)"})
        return self._http

    @property
    def arxiv(self) -> ArxivClient:
        if self._arxiv is None:
            self._arxiv = ArxivClient(self.settings, self.http)
        return self._arxiv

    async def resolve_pending(self) -> Resolved:
        """Reading-list papers arXiv could not describe when they were liked or imported: looked up again."""
        async with self.sessionmaker() as session:  # not .begin(): the lookup commits around the arXiv call
            outcome = await resolve_pending(session, self.arxiv)
            await session.commit()
        return outcome

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # ---------- sources ----------
    async def ensure_configured_sources(self) -> None:
        """arXiv: the configured categories, and the same categories narrowed to the subscriptions' Latin-script
        keywords (arXiv is searched in English; other topics match posts and abstracts locally). arXiv sources no
        longer wanted (topics changed) are deactivated, not deleted: their items stay. Feeds from settings."""
        async with self.sessionmaker.begin() as session:
            categories = [c.strip() for c in self.settings.digest_arxiv_categories.split(",") if c.strip()]
            wanted = set()
            if categories:
                wanted.add((arxiv_query(categories, []), "arXiv " + ", ".join(categories)))
                topics = await active_topics(session)
                keywords = sorted({t for ts in topics for t in (ts or []) if t.isascii()})[:MAX_ARXIV_KEYWORDS]
                if keywords:
                    wanted.add((arxiv_query(categories, keywords), "arXiv " + ", ".join(categories) + ": " +
                                ", ".join(keywords)[:160]))
            for locator, name in wanted:
                await source(session, "arxiv", locator, name)
            await deactivate_arxiv_sources_except(session, [locator for locator, _ in wanted])
            for url in filter(None, (u.strip() for u in self.settings.digest_feeds.split(","))):
                await source(session, "feed", url, url.split("//", 1)[-1][:120])

    async def fetch_all(self) -> dict[str, int]:
        """Fetch every active arXiv/feed source (a failing one is recorded and retried next run), then group."""
        await self.ensure_configured_sources()
        async with self.sessionmaker() as session:
            ids = await fetchable_source_ids(session)
        report = {}
        for source_id in ids:
            # Short transactions around the fetch (fetch_source releases the connection for the HTTP call), so a
            # plain session committed at the end rather than one `begin()` block.
            async with self.sessionmaker() as session:
                src = await get_source(session, source_id)
                if src is None:  # deleted since the list was read
                    continue
                report[src.name] = await fetch_source(session, src, self.settings, self.http, self.arxiv)
                await session.commit()
        report["_grouped"] = await self.group()
        return report

    async def load_samples(self) -> int:
        """The bundled sample sources (offline console, demos), grouped into papers."""
        from digests.samples import load_samples

        async with self.sessionmaker.begin() as session:
            new = await load_samples(session)
        if new:
            await self.group()
        return new

    async def group(self) -> int:
        embed, threshold = None, 1.0  # without a hub nothing is compared by similarity
        if self.hub is not None:
            # The multilingual embedder measured best across languages, with its own calibrated threshold.
            embedder, calibrated = self.hub.grouping_embedder()
            configured = self.settings.digest_similarity_threshold
            threshold = calibrated if configured is None else configured

            async def embed(texts):
                await embedder.ready()
                return await embedder.embed(texts)
        async with self.sessionmaker() as session:  # assign_papers releases the connection while it embeds
            assigned = await assign_papers(session, embed, threshold=threshold,
                                           lookback_days=self.settings.digest_lookback_days)
            await session.commit()
            return assigned

    # ---------- issues ----------
    async def compose(self, subscription: Subscription, session: AsyncSession, now: datetime,
                      preview: bool = False) -> tuple[list, str]:
        window = self.window(subscription, now)
        found = await candidates(session, subscription, now=now, lookback_days=self.settings.digest_lookback_days,
                                 since=window.since)
        # Topics and the chat's profile (votes, reading list) as the subscription's mode says (digests/ranking.py).
        chosen = await rank_subscription(session, subscription, found, matches=matches,
                                         embedder=self.ranking_embedder(), now=now,
                                         half_life_days=self.settings.digest_profile_half_life_days)
        summarizer = self.summarizer() if chosen else None
        async with released(session):  # a summary model may take seconds per paper: no connection held meanwhile
            await asyncio.gather(*(summarize(entry, subscription.language, summarizer) for entry in chosen))
        l10n = self.translator(subscription.language)
        # An issue is dated by its slot; a preview by today in the subscriber's timezone.
        when = now.astimezone(ZoneInfo(subscription.timezone)) if preview else last_slot(subscription, now)
        date = when.strftime("%Y-%m-%d")
        if chosen:
            # Which model wrote each summary (or why none did) is for the /digest preview, not for the members.
            return chosen, render_issue(chosen, subscription.language, l10n, date=date, topics=subscription.topics,
                                        provenance=preview)
        if subscription.empty_policy == "silent":
            return [], ""
        if window.quiet is not None:  # arXiv announced nothing since the last issue: say so, not "nothing matched"
            return [], render_quiet(l10n, window, subscription.timezone)
        return [], render_empty(l10n, date=date, topics=subscription.topics)

    def summarizer(self) -> Summarizer | Provenance:
        """The DIGEST_SUMMARY_MODEL engine, or why there is none (not configured, unknown, not installed)."""
        return summarizer_for(self.hub, self.settings.digest_summary_model,
                              timeout_s=self.settings.digest_summary_timeout_s,
                              max_new_tokens=self.settings.digest_summary_max_tokens)

    def window(self, subscription: Subscription, now: datetime) -> Window:
        """What an issue built now covers: since the previous issue's window (digests/calendar.py)."""
        if self._calendar is None and self.settings.digest_calendar == "arxiv":
            self._calendar = ArxivCalendar.load()
        return issue_window(self._calendar, now=now, covered_until=subscription.covered_until,
                            previous_slot=previous_slot(subscription, last_slot(subscription, now)),
                            lookback_days=self.settings.digest_lookback_days,
                            catchup_days=self.settings.digest_catchup_days)

    def ranking_embedder(self):
        """The multilingual grouping embedder, which embeds the chat's profile papers too (None without models)."""
        return self.hub.grouping_embedder()[0] if self.hub is not None else None

    async def preview(self, subscription_id: int, now: datetime | None = None) -> str:
        """What the next issue would say, without storing it (for /digest)."""
        async with self.sessionmaker() as session:
            subscription = await get_subscription(session, subscription_id)
            if subscription is None:
                return ""
            _, text = await self.compose(subscription, session, now or utcnow(), preview=True)
            return text

    async def build_issue(self, subscription_id: int, now: datetime | None = None) -> IssueResult | None:
        """The issue of the subscription's latest slot: created once (with its pending delivery), else found."""
        now = now or utcnow()
        async with self.sessionmaker() as session:
            subscription = await get_subscription(session, subscription_id)
            if subscription is None or not subscription.active:
                return None
            period = last_slot(subscription, now).strftime("%Y-%m-%dT%H:%M")
            existing = await issue_for(session, subscription.id, period)
            if existing is not None:
                return IssueResult(existing.id, len(existing.papers or []), existing.text, False)
            chosen, text = await self.compose(subscription, session, now)
            try:
                issue = await add_issue(session, subscription_id=subscription.id, period=period,
                                        papers=[entry.paper.id for entry in chosen], text=text)
                await record_ranking(session, issue.id, chosen)  # why each paper is where it is (/sources)
                subscription.covered_until = now  # the next issue starts here (digests/calendar.py)
                if text:  # a silent empty issue is recorded (so it is not rebuilt) but sends nothing
                    await ensure_deliveries(session, issue.id, [subscription.chat_id])
                await session.commit()
            except IntegrityError:  # another run made this slot's issue first
                await session.rollback()
                existing = await issue_for(session, subscription_id, period)
                if existing is None:  # the conflicting row is gone again (its subscription deleted): retry later
                    raise
                return IssueResult(existing.id, len(existing.papers or []), existing.text, False)
            return IssueResult(issue.id, len(chosen), text, True)

    async def run_subscription(self, subscription_id: int, now: datetime | None = None) -> IssueResult | None:
        result = await self.build_issue(subscription_id, now)
        if result is not None and self.broadcaster is not None:
            await self.broadcaster.run([result.issue_id])
        return result

    async def deliver_pending(self) -> None:
        """Deliveries a crash left pending are sent by the next scheduler start (the broadcaster skips sent ones)."""
        if self.broadcaster is not None:
            await self.broadcaster.run()
