"""The digest pipeline holds no database connection while it waits on the network or an embedder (the rule of
docs/architecture.md, "Transactions", for scheduled work too): with a pool of ONE connection and no overflow, a
second session can run SQL in the middle of a feed fetch and in the middle of grouping's embedding. If the fetch or
the grouping kept its transaction open, that second session would wait for the only connection and time out."""
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select, text

from digests.config import DigestSettings
from digests.service import DigestService
from digests.sources import ingest_post
from fakes.feeds import FakeFeeds, FeedEntry
from handlers.i18n import Translator
from storage.db import Pool, create_engine, create_sessionmaker
from storage.migrate import upgrade
from storage.schema.digest import DigestItem, Paper

NOW = datetime.now(UTC)
ONE_CONNECTION = Pool(size=1, overflow=0, timeout_s=2.0)


@pytest.fixture
async def sessionmaker(database_url):
    migrating = create_engine(database_url)  # the migration lock takes a connection of its own
    await upgrade(migrating)
    await migrating.dispose()
    engine = create_engine(database_url, pool=ONE_CONNECTION)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def other_session_runs_sql(sessionmaker) -> int:
    """SQL from another session: needs the pool's one connection (a held one makes this time out after 2 s)."""
    async with sessionmaker() as other:
        return int(await other.scalar(text("SELECT 1")) or 0)


async def test_a_feed_fetch_holds_no_connection_during_the_http_call(sessionmaker):
    feeds = FakeFeeds()
    feeds.feeds["blog"] = [FeedEntry("Semantic leakage, explained", "https://blog.example/leak",
                                     "A post about arXiv 2408.06518.", NOW - timedelta(hours=1))]
    during: list[int] = []

    async def on_request(_request: httpx.Request) -> None:
        during.append(await other_session_runs_sql(sessionmaker))

    async with feeds, httpx.AsyncClient(event_hooks={"request": [on_request]}) as client:
        settings = DigestSettings(_env_file=None, digest_feeds=f"{feeds.base_url}/rss/blog",
                                  digest_arxiv_categories="")
        service = DigestService(settings, sessionmaker, translator=Translator, http=client)
        report = await service.fetch_all()
    assert during == [1]  # the hook ran inside the fetch, and the other session got the connection
    assert report[next(name for name in report if name != "_grouped")] == 1
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DigestItem)) == 1


async def test_grouping_holds_no_connection_while_it_embeds(sessionmaker):
    async with sessionmaker.begin() as session:
        await ingest_post(session, chat_id=-100500, message_id=1, title="ML", published_at=NOW,
                          text="Semantic leakage paper: https://arxiv.org/abs/2408.06518")
        await ingest_post(session, chat_id=-100500, message_id=2, title="ML", published_at=NOW,
                          text="Liking yellow implies driving a school bus: semantic leakage in language models")
    calls: list[int] = []

    class Embedder:  # what `hub.grouping_embedder()` returns, computing nothing but checking the pool
        async def ready(self) -> None:
            return None

        async def embed(self, texts: list[str]) -> np.ndarray:
            calls.append(await other_session_runs_sql(sessionmaker))
            return np.ones((len(texts), 4), dtype=np.float32) / 2.0  # every text the same direction: one paper

    class Hub:
        def grouping_embedder(self) -> tuple[Embedder, float]:
            return Embedder(), 0.5

    service = DigestService(DigestSettings(_env_file=None), sessionmaker, translator=Translator, hub=Hub())
    assert await service.group() == 2
    assert calls and all(value == 1 for value in calls)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Paper)) == 1
        assert await session.scalar(select(func.count()).select_from(DigestItem)
                                    .where(DigestItem.paper_id.is_(None))) == 0
