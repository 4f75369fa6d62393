"""Fetching from a local arXiv API and RSS feed over real HTTP, grouping posts into papers across languages (real
MiniLM), issues per subscription slot: nothing twice, nothing missed, empty-day policy, escaping and RTL."""
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from digests.calendar import ArxivCalendar
from digests.config import DigestSettings
from digests.service import DigestService, last_slot
from digests.sources import ArxivClient, arxiv_query, ingest_post
from fakes.feeds import ArxivPaper, FakeFeeds, FeedEntry
from handlers.i18n import Translator
from storage.db import create_sessionmaker
from storage.schema.core import Chat
from storage.schema.digest import Delivery, DigestIssue, DigestItem, DigestSource, Paper, Subscription

NOW = datetime.now(UTC)


@pytest.fixture
async def feeds():
    server = FakeFeeds()
    server.papers = [
        ArxivPaper("2408.06518", "Does Liking Yellow Imply Driving a School Bus? Semantic Leakage in Language Models",
                   "We identify semantic leakage. Unrelated concepts in the prompt leak into generations.",
                   NOW - timedelta(hours=5)),
        ArxivPaper("2212.10562", "Character-Aware Models Improve Visual Text Rendering",
                   "Character-blind models spell poorly. ByT5 spells well.", NOW - timedelta(hours=6)),
        ArxivPaper("2401.00001", "A Study of <script>Tags</script> & Ampersands in Titles",
                   "Markup in titles must be escaped.", NOW - timedelta(hours=7), ("cs.LG",)),
    ]
    server.feeds["blog"] = [FeedEntry("Semantic leakage, explained", "https://blog.example/leak?a=1&b=2",
                                      "A post about arXiv 2408.06518 and yellow school buses.",
                                      NOW - timedelta(hours=3))]
    async with server:
        yield server


def digest_settings(feeds: FakeFeeds, **overrides) -> DigestSettings:
    values = dict(arxiv_api_base=f"{feeds.base_url}/api/query", arxiv_request_spacing_s=0.2, arxiv_page_size=2,
                  digest_arxiv_categories="cs.CL,cs.LG", digest_feeds=f"{feeds.base_url}/rss/blog,"
                                                                      f"{feeds.base_url}/broken")
    values.update(overrides)
    return DigestSettings(_env_file=None, **values)


async def test_arxiv_paging_and_request_spacing(feeds):
    settings = digest_settings(feeds)
    async with httpx.AsyncClient() as client:
        items = await ArxivClient(settings, client).search(arxiv_query(["cs.CL", "cs.LG"], []), max_results=10)
    assert [i.external_id for i in items] == ["2408.06518", "2212.10562", "2401.00001"]
    assert len(feeds.api_requests) == 2  # pages of 2
    gap = feeds.api_requests[1][0] - feeds.api_requests[0][0]
    assert gap >= 0.19, f"requests only {gap:.3f} s apart"


async def test_fetch_group_and_issue_end_to_end(feeds, migrated_engine, hub):
    sessionmaker = create_sessionmaker(migrated_engine)
    service = DigestService(digest_settings(feeds), sessionmaker, translator=Translator, hub=hub)
    async with sessionmaker.begin() as session:
        session.add(Chat(id=-1001, type="supergroup", title="ML chat"))
        # The same paper discussed in Russian and Hebrew channels; one Persian post names no id at all.
        await ingest_post(session, chat_id=-100500, message_id=7, title="ML по-русски", published_at=NOW,
                          text="Статья про семантическую утечку: https://arxiv.org/abs/2408.06518v2 — жёлтый цвет "
                               "и водитель школьного автобуса.")
        await ingest_post(session, chat_id=-100600, message_id=3, title="למידת מכונה", published_at=NOW,
                          text="מאמר על דליפה סמנטית: arxiv.org/pdf/2408.06518")
    report = await service.fetch_all()
    assert report["_grouped"] >= 6
    report_again = await service.fetch_all()  # every item is stored once
    async with sessionmaker() as session:
        sources = {s.locator: s for s in (await session.scalars(select(DigestSource))).all()}
        broken = sources[f"{feeds.base_url}/broken"]
        assert broken.failures == 2 and "500" in broken.last_error  # recorded, retried next run, never raised
        assert sources[f"{feeds.base_url}/rss/blog"].failures == 0
        assert await session.scalar(select(func.count(DigestItem.id))) == 6
        papers = (await session.scalars(select(Paper))).all()
        leak = next(p for p in papers if p.key == "arxiv:2408.06518")
        members = (await session.scalars(select(DigestItem).where(DigestItem.paper_id == leak.id))).all()
        assert {m.language for m in members} == {"en", "ru", "he"}  # arXiv + blog (en), ru and he channels
        assert len(members) == 4
    assert report_again["_grouped"] == 0

    async with sessionmaker.begin() as session:
        daily = Subscription(chat_id=-1001, topics=["semantic leakage", "byt5", "tags"], language="ru",
                             schedule="daily", time="09:00", timezone="Europe/Moscow", size=2, empty_policy="note")
        session.add(daily)
    first = await service.build_issue(daily.id, NOW)
    assert first.created and first.papers == 2
    again = await service.build_issue(daily.id, NOW + timedelta(minutes=5))  # same slot: the same issue
    assert not again.created and again.issue_id == first.issue_id
    text = first.text
    assert "Дайджест статей" in text and "Источники:" in text
    assert "[на языке оригинала: английский]" in text  # no translation backend: marked, not pretended
    assert "<script>" not in text and "\u2068" in text
    assert 'href="https://blog.example/leak?a=1&amp;b=2"' in text or "2408.06518" in text

    # Next day: the paper left out (size 2) comes now — nothing missed; the ones sent do not repeat.
    second = await service.build_issue(daily.id, NOW + timedelta(days=1))
    assert second.created and second.papers == 1
    async with sessionmaker() as session:
        issues = (await session.scalars(select(DigestIssue).order_by(DigestIssue.id))).all()
        assert not set(issues[0].papers) & set(issues[1].papers)
        assert await session.scalar(select(func.count(Delivery.id))) == 2
    third = await service.build_issue(daily.id, NOW + timedelta(days=2))
    # An empty day gets an explicit note: "no new papers", or on a day arXiv announced nothing, the calendar's line.
    quiet = not ArxivCalendar.load().announcements(NOW + timedelta(days=1), NOW + timedelta(days=2))
    assert third.papers == 0 and ("arXiv ничего не публиковал" if quiet else "новых статей нет") in third.text


async def test_silent_empty_issue_sends_nothing(feeds, migrated_engine):
    sessionmaker = create_sessionmaker(migrated_engine)
    service = DigestService(digest_settings(feeds), sessionmaker, translator=Translator)
    async with sessionmaker.begin() as session:
        session.add(Chat(id=5, type="private"))
        subscription = Subscription(chat_id=5, topics=["nothing matches this"], language="he", schedule="weekly",
                                    time="08:00", weekday=6, timezone="Asia/Jerusalem", size=5, empty_policy="silent")
        session.add(subscription)
    result = await service.build_issue(subscription.id, NOW)
    assert result.created and result.text == ""
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count(Delivery.id))) == 0
    assert await service.preview(subscription.id, NOW) == ""


def test_last_slot_in_the_subscribers_timezone():
    subscription = Subscription(schedule="daily", time="09:00", timezone="Asia/Tehran", weekday=None)
    now = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)  # 08:30 in Tehran: today's 09:00 has not come
    assert last_slot(subscription, now).strftime("%Y-%m-%d %H:%M") == "2026-11-24 09:00"
    weekly = Subscription(schedule="weekly", time="18:30", timezone="UTC", weekday=0)
    assert last_slot(weekly, now).strftime("%a %Y-%m-%d %H:%M") == "Mon 2026-11-23 18:30"


async def test_posts_without_ids_join_their_paper_by_embedding_similarity(hub):
    from digests.pipeline import PostView, group_posts

    embedder = hub.embedder("minilm")

    async def embed(texts):
        await embedder.ready()
        return await embedder.embed(texts)

    posts = [
        PostView(1, "arxiv:2408.06518", "Does Liking Yellow Imply Driving a School Bus? Semantic Leakage in Language "
                 "Models", "We identify semantic leakage in language models.", "en"),
        PostView(2, "arxiv:2212.10562", "Character-Aware Models Improve Visual Text Rendering",
                 "Character-blind text encoders spell poorly.", "en"),
        PostView(3, None, "", "Liking yellow implies driving a school bus: semantic leakage in language models", "en"),
        PostView(4, None, "", "Our lab is hiring a postdoc in computational biology, apply by Friday.", "en"),
    ]
    groups = {g.key: [m.item_id for m in g.members] for g in await group_posts(posts, embed, 0.6)}
    assert groups["arxiv:2408.06518"] == [1, 3]
    assert groups["arxiv:2212.10562"] == [2]
    assert groups["post:4"] == [4]
    # Without an embedder nothing is guessed: every keyless post stands alone.
    alone = {g.key for g in await group_posts(posts, None, 0.6)}
    assert {"post:3", "post:4"} <= alone


async def test_arxiv_queries_follow_the_subscriptions_keywords(feeds, migrated_engine):
    sessionmaker = create_sessionmaker(migrated_engine)
    service = DigestService(digest_settings(feeds, digest_feeds=""), sessionmaker, translator=Translator)
    async with sessionmaker.begin() as session:
        session.add(Chat(id=9, type="private"))
        subscription = Subscription(chat_id=9, topics=["semantic leakage", "утечка", "llm"], language="ru",
                                    schedule="daily", time="09:00", timezone="UTC", size=5, empty_policy="note")
        session.add(subscription)
    await service.fetch_all()
    queries = [params["search_query"] for _, params in feeds.api_requests]
    assert '(cat:cs.CL OR cat:cs.LG) AND (all:llm OR all:"semantic leakage")' in queries  # Cyrillic stays local
    async with sessionmaker.begin() as session:
        (await session.get(Subscription, subscription.id)).active = False
    await service.ensure_configured_sources()
    async with sessionmaker() as session:
        active = (await session.scalars(select(DigestSource.locator).where(DigestSource.kind == "arxiv",
                                                                           DigestSource.active.is_(True)))).all()
    assert active == ["(cat:cs.CL OR cat:cs.LG)"]


async def test_summaries_in_the_readers_language_through_a_remote_backend(feeds, migrated_engine, monkeypatch):
    """With DIGEST_SUMMARY_MODEL naming a capable (here: OpenAI-compatible, on loopback) backend, each paper gets a
    one-sentence summary written in the subscriber's language; when the backend fails, the extractive summary in
    the original language, marked, takes its place — the digest never fails."""
    import json as jsonlib

    from fakes.openai_api import FakeOpenAI, Scripted
    from models.config import ModelSettings, RemoteModel
    from models.hub import ModelHub

    russian = "Модели переносят несвязанное понятие из запроса в продолжение: это и есть семантическая утечка."
    async with FakeOpenAI() as backend:
        hub = ModelHub(ModelSettings(remote_models={"translator": RemoteModel(
            base_url=backend.base_url, model="big-multilingual", retries=0, timeout_s=5)}))
        service = DigestService(digest_settings(feeds, digest_feeds="", digest_summary_model="translator"),
                                create_sessionmaker(migrated_engine), translator=Translator, hub=hub)
        await service.fetch_all()
        async with service.sessionmaker.begin() as session:
            session.add(Chat(id=21, type="private"))
            subscription = Subscription(chat_id=21, topics=["semantic leakage", "byt5"], language="ru",
                                        schedule="daily", time="09:00", timezone="UTC", size=2, empty_policy="note")
            session.add(subscription)
        completion = {"id": "c", "object": "text_completion",
                      "choices": [{"index": 0, "text": " " + russian + "\n\nNext", "finish_reason": "stop"}]}
        backend.then(Scripted(body=jsonlib.dumps(completion)), Scripted(status=500))
        text = (await service.build_issue(subscription.id, NOW)).text
        assert russian in text  # translated summary for the first paper
        assert "written in Russian" in backend.requests[0]["prompt"][0]
        assert text.count("на языке оригинала") == 1  # the second fell back to the marked original
        assert "spells" in text or "spell" in text
        await hub.close()
