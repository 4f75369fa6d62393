"""Ranking with the chat's interest profile (digests/ranking.py, digests/profile.py): with no profile every mode is
the topic ranking; decay; and with the real multilingual embedder, a 👍 on a paper described in Russian lifts an
English paper on the same subject into the digest, with the reason stored for /sources."""
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from digests.compose import Candidate, Post, matches
from digests.config import DigestSettings
from digests.ranking import Profile, Signal, decay, describe, rank, vote_weight
from digests.service import DigestService
from handlers.i18n import Translator
from storage.db import create_sessionmaker
from storage.schema.core import Chat, User
from storage.schema.digest import DigestIssue, DigestItem, DigestSource, Paper, Subscription
from storage.schema.groups import DigestVote
from storage.schema.profile import IssueRanking


def _entries(count: int) -> list[Candidate]:
    out = []
    for number in range(1, count + 1):
        title = f"Paper {number} on {'speech' if number % 2 else 'graphs'}"
        paper = Paper(id=number, key=f"k{number}", title=title, abstract="A benchmark study.", language="en")
        out.append(Candidate(paper, [Post("arxiv", "arXiv", "en", None, "")]))
    return out


def _order(entries):
    return [(e.paper.id, round(e.score, 6), list(e.matched)) for e in entries]


@pytest.mark.parametrize("mode", ["both", "profile"])
def test_without_a_profile_every_mode_ranks_by_topics(mode):
    vectors = {n: v for n, v in enumerate(np.random.default_rng(1).normal(size=(9, 8)), 1)}
    topics = ["speech", "benchmark"]
    expected = _order(rank(_entries(8), topics, 5, matches=matches))
    assert _order(rank(_entries(8), topics, 5, matches=matches, mode=mode, profile=Profile(),
                       vectors=vectors)) == expected
    dislike_only_zero = Profile([Signal(9, "x", 0.0, vectors[9])])  # weights decayed to nothing: empty
    assert _order(rank(_entries(8), topics, 5, matches=matches, mode=mode, profile=dislike_only_zero,
                       vectors=vectors)) == expected
    assert all(e.reasons and e.reasons[0]["kind"] == "topic" for e in rank(_entries(8), topics, 5, matches=matches))


def test_decay_and_vote_weight():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert decay(0, 30) == 1.0 and decay(30, 30) == pytest.approx(0.5) and decay(60, 30) == pytest.approx(0.25)
    assert vote_weight(1, now - timedelta(days=30), now, 30) == pytest.approx(0.5)
    assert vote_weight(-5, now, now, 30) == -2  # several readers count, up to two
    assert describe({"kind": "like", "label": "Paper X", "similarity": 0.714}) == "like ≈ 0.71 to 'Paper X'"
    assert describe({"kind": "topic", "label": "dpo"}) == "topic: dpo"


ENGLISH = [  # (title, abstract): all mention "benchmark", so topics alone cannot tell them apart
    ("Self-supervised pretraining for low-resource speech recognition",
     "We transcribe speech in languages with little labeled audio. Our benchmark covers twelve languages."),
    ("Equivariant graph networks for molecular property prediction",
     "Message passing over molecular graphs predicts toxicity. A new benchmark of drug molecules."),
    ("Learned guidance schedules for text-to-image diffusion",
     "Classifier-free guidance with a learned schedule improves image fidelity on a benchmark of prompts."),
    ("Hard negatives for dense passage retrieval",
     "Contrastive bi-encoders with mined negatives improve web search ranking on a standard benchmark."),
]
RUSSIAN = ("Распознавание речи для малоресурсных языков",
           "Самообучаемое предобучение на неразмеченном аудио улучшает транскрибирование речи на языках, для которых "
           "почти нет размеченных данных.")


async def seed_a_russian_paper_issue(session, chat_id, *, now, lang, mode):
    """A chat's subscription whose earlier issue carried the Russian paper, and today's English papers (shared with
    tests/digests/test_profile_commands.py). Returns (subscription, the earlier issue, the Russian paper, papers)."""
    source = DigestSource(kind="arxiv", locator="cat:cs.CL", name="arXiv", active=True, failures=0, items_total=0)
    session.add(source)
    await session.flush()
    liked = Paper(key="arxiv:2501.00001", title=RUSSIAN[0], abstract=RUSSIAN[1], language="ru",
                  first_seen_at=now - timedelta(days=20))
    papers = [Paper(key=f"arxiv:2512.0000{n}", title=t, abstract=a, language="en", first_seen_at=now)
              for n, (t, a) in enumerate(ENGLISH, 1)]
    session.add_all([liked, *papers])
    await session.flush()
    for paper in papers:
        session.add(DigestItem(source_id=source.id, external_id=paper.key[6:], paper_id=paper.id,
                               title=paper.title, text=paper.abstract, language="en",
                               published_at=now - timedelta(hours=3)))
    subscription = Subscription(chat_id=chat_id, topics=["benchmark"], language=lang, schedule="daily",
                                time="09:00", timezone="UTC", size=2, empty_policy="note", mode=mode)
    session.add(subscription)
    await session.flush()
    old = DigestIssue(subscription_id=subscription.id, period="2026-11-10T09:00", papers=[liked.id], text="…")
    session.add(old)
    await session.flush()
    return subscription, old, liked, papers


async def _chat_with_a_russian_like(sessionmaker, now, mode):
    async with sessionmaker.begin() as session:
        session.add_all([Chat(id=-1001, type="supergroup", title="ML"), User(id=5, first_name="Ada")])
        subscription, old, liked, papers = await seed_a_russian_paper_issue(session, -1001, now=now, lang="en",
                                                                            mode=mode)
        session.add(DigestVote(issue_id=old.id, paper_id=liked.id, user_id=5, chat_id=-1001, value=1,
                               created_at=now - timedelta(days=2)))
    return subscription.id, papers[0].id


@pytest.mark.parametrize("mode", ["both", "topics"])
async def test_a_like_on_a_russian_paper_lifts_an_english_one(migrated_engine, hub, mode):
    sessionmaker = create_sessionmaker(migrated_engine)
    now = datetime.now(UTC)
    sub_id, speech_id = await _chat_with_a_russian_like(sessionmaker, now, mode)
    service = DigestService(DigestSettings(_env_file=None, digest_arxiv_categories=""), sessionmaker,
                            translator=Translator, hub=hub)
    issue = await service.build_issue(sub_id, now)
    async with sessionmaker() as session:
        ranked = (await session.scalars(select(IssueRanking).where(IssueRanking.issue_id == issue.issue_id)
                                        .order_by(IssueRanking.position))).all()
    if mode == "topics":
        # Topics alone: the four tie on "benchmark" and the newest ids win; the speech paper (the oldest) is out.
        assert speech_id not in [r.paper_id for r in ranked]
        assert all(r.reasons == [{"kind": "topic", "label": "benchmark"}] for r in ranked)
        return
    assert ranked[0].paper_id == speech_id, [r.reasons for r in ranked]
    like = next(r for r in ranked[0].reasons if r["kind"] == "like")
    assert like["label"] == RUSSIAN[0]
    others = [next((r["similarity"] for r in row.reasons if r["kind"] == "like"), 0) for row in ranked[1:]]
    assert like["similarity"] > max(others, default=0)
    assert {"kind": "topic", "label": "benchmark"} in ranked[0].reasons
    assert "Self-supervised pretraining" in issue.text.split("\n\n")[1]  # first in the digest itself


def test_subscribe_mode_option():
    from digests.subscription import SubscribeError, parse_subscribe

    assert parse_subscribe("dpo, speech").mode == "both"  # the default: topics until the chat has a profile
    assert parse_subscribe("dpo mode=profile").mode == "profile"
    assert parse_subscribe("dpo mode=topics daily=08:00").mode == "topics"
    with pytest.raises(SubscribeError) as raised:
        parse_subscribe("dpo mode=learned")
    assert raised.value.code == "bad-mode" and raised.value.detail == "learned"


class FailingEmbedder:
    name = "broken"

    async def ready(self):
        return self

    async def embed(self, texts, timeout=None):
        raise RuntimeError("the embedder process died")


async def test_an_embedder_failure_falls_back_to_topics(migrated_engine):
    sessionmaker = create_sessionmaker(migrated_engine)
    now = datetime.now(UTC)
    sub_id, speech_id = await _chat_with_a_russian_like(sessionmaker, now, "both")
    service = DigestService(DigestSettings(_env_file=None, digest_arxiv_categories=""), sessionmaker,
                            translator=Translator)
    service.ranking_embedder = FailingEmbedder  # a profile exists, but its papers cannot be embedded now
    issue = await service.build_issue(sub_id, now)
    assert issue.created and issue.papers == 2  # the issue still goes out, ranked by its topics
    async with sessionmaker() as session:
        ranked = (await session.scalars(select(IssueRanking).where(IssueRanking.issue_id == issue.issue_id))).all()
    assert speech_id not in [r.paper_id for r in ranked]
