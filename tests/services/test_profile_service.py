"""services/profile.py on the real database (SQLite and PostgreSQL), with arXiv as the loopback fake over HTTP:
/like by id or URL, a pending like while arXiv fails and its later resolution, a BibTeX import, the profile summary,
and the ranking reasons of the latest issue for /sources."""
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from chatkit.errors import UserInputError
from digests.config import DigestSettings
from digests.service import DigestService
from digests.sources import ArxivClient
from fakes.feeds import ArxivPaper, FakeFeeds
from handlers.i18n import Translator
from services.profile import ProfileService
from storage.schema.digest import DigestIssue, DigestItem, DigestSource, Paper, Subscription
from storage.schema.groups import DigestVote

BIB = b"""@article{a, title={Semantic leakage}, journal={arXiv preprint arXiv:2408.06518}}
@misc{b, eprint={2212.10562}, archivePrefix={arXiv}}
@book{c, title={No arXiv id here}}
@misc{d, url={https://arxiv.org/abs/2609.99999}}
"""


@pytest.fixture
async def arxiv():
    server = FakeFeeds()
    server.papers = [
        ArxivPaper("2408.06518", "Does Liking Yellow Imply Driving a School Bus? Semantic Leakage in Language Models",
                   "We identify semantic leakage."),
        ArxivPaper("2212.10562", "Character-Aware Models Improve Visual Text Rendering", "ByT5 spells well."),
    ]
    async with server, httpx.AsyncClient() as client:
        settings = DigestSettings(_env_file=None, arxiv_api_base=f"{server.base_url}/api/query",
                                  arxiv_request_spacing_s=0.0)
        yield server, ArxivClient(settings, client)


async def test_like_pending_and_import(sessionmaker, people, arxiv) -> None:
    # As the update middleware does: a plain session (the service commits around arXiv calls), committed at the end.
    server, client = arxiv
    async with sessionmaker() as session:
        service = ProfileService(session, client)
        liked = await service.like(-100, "https://arxiv.org/abs/2408.06518v2")
        assert (liked.arxiv_id, liked.new, liked.pending) == ("2408.06518", True, False)
        assert liked.title is not None and liked.title.startswith("Does Liking Yellow")
        assert not (await service.like(-100, "arXiv:2408.06518")).new  # listed once
        with pytest.raises(UserInputError) as raised:
            await service.like(-100, "the yellow bus paper")
        assert raised.value.key == "like-err-bad-ref"
        await session.commit()
    server.fail_next(503)  # arXiv is down: the like is kept, pending
    async with sessionmaker() as session:
        pending = await ProfileService(session, client).like(1, "2212.10562")
        assert pending.pending and pending.title is None
        await session.commit()
    async with sessionmaker() as session:
        service = ProfileService(session, client)
        assert await service.resolve_pending(1) == 1
        summary = await service.profile_summary(1)
        assert (summary.likes, summary.listed, summary.pending) == (1, 1, 0)
        assert summary.strongest[0].title.startswith("Character-Aware") and summary.strongest[0].origin == "like"
        await session.commit()
    async with sessionmaker() as session:
        service = ProfileService(session, client)
        imported = await service.import_reading_list(-100, BIB, "refs.bib")
        assert imported.added == ["2212.10562", "2609.99999"] and imported.already == ["2408.06518"]
        assert imported.pending == ["2609.99999"] and imported.skipped == 1  # unknown to arXiv; the book
        with pytest.raises(UserInputError) as raised:
            await service.import_reading_list(-100, b"\x00\x00binary", "photo.jpg")
        assert raised.value.key == "reading-list-err-not-text"
        summary = await service.profile_summary(-100)
        assert (summary.likes, summary.dislikes, summary.listed, summary.pending) == (2, 0, 3, 1)
        assert not summary.empty and summary.half_life_days == 30.0


async def test_votes_join_the_profile_and_reasons_are_explained(sessionmaker, people) -> None:
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        source = DigestSource(kind="arxiv", locator="cat:cs.CL", name="arXiv", active=True, failures=0,
                              items_total=0)
        session.add(source)
        await session.flush()
        papers = [Paper(key=f"arxiv:2512.0000{n}", title=t, abstract="A speech benchmark.", language="en",
                        first_seen_at=now) for n, t in enumerate(["Speech tokens", "Speech at scale"], 1)]
        session.add_all(papers)
        await session.flush()
        for paper in papers:
            session.add(DigestItem(source_id=source.id, external_id=paper.key, paper_id=paper.id, title=paper.title,
                                   text=paper.abstract, language="en", published_at=now - timedelta(hours=1)))
        subscription = Subscription(chat_id=-100, topics=["speech"], language="en", schedule="daily", time="09:00",
                                    timezone="UTC", size=5, empty_policy="note")
        session.add(subscription)
    service = DigestService(DigestSettings(_env_file=None, digest_arxiv_categories=""), sessionmaker,
                            translator=Translator)
    issue = await service.build_issue(subscription.id, now)
    assert issue.papers == 2
    async with sessionmaker() as session, session.begin():
        session.add(DigestVote(issue_id=issue.issue_id, paper_id=papers[0].id, user_id=1, chat_id=-100, value=-1,
                               created_at=now))
        assert (await session.get(DigestIssue, issue.issue_id)).papers
    async with sessionmaker() as session:
        profile = ProfileService(session, half_life_days=10)
        explained = await profile.explain(-100)
        assert [e.paper.title for e in explained] == ["Speech at scale", "Speech tokens"]
        assert explained[0].reasons == ["topic: speech"] and explained[0].paper.position == 1
        summary = await profile.profile_summary(-100, now + timedelta(days=10))
        assert summary.dislikes == 1 and summary.strongest[0].weight == pytest.approx(-0.5)
        assert await profile.explain(1) == []  # another chat's issues are not shown
