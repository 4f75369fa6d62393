"""The interest-profile commands through the real dispatcher (handlers/profile.py), in four languages: /like by id
and by URL (the fake arXiv API answers; arXiv down → pending, resolved later), a .bib and a plain-list upload (a
document downloaded through getFile), a non-admin refused in a group, /profile, and /why and /sources showing what
moved a paper up after a 👍 pressed under a digest (the real multilingual embedder)."""
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from digests import scheduler
from digests.buttons import DigestVoteButton
from digests.pending import Backoff, Resolved
from fakes.feeds import ArxivPaper, FakeFeeds
from handlers.i18n import Translator
from storage.schema.core import Chat
from storage.schema.profile import ReadingListEntry
from tests.conftest import ADMIN_ID
from tests.digests.test_ranking import RUSSIAN, seed_a_russian_paper_issue

LEAK_TITLE = "Does Liking Yellow Imply Driving a School Bus? Semantic Leakage in Language Models"
ADDED = {"en": "Added to the reading list", "ru": "Добавлено в список чтения", "fa": "به فهرست مطالعه افزوده شد",
         "he": "נוסף לרשימת הקריאה"}
ALREADY = {"en": "Already in the reading list", "ru": "Уже в списке чтения", "fa": "از پیش در فهرست مطالعه",
           "he": "כבר ברשימת הקריאה"}
PENDING = {"en": "could not tell us", "ru": "пока не ответил", "fa": "هنوز دربارهٔ آن پاسخی", "he": "עוד לא מסר"}
IMPORTED = {"en": "Reading list: 2 added", "ru": "Список чтения: добавлено 2", "fa": "فهرست مطالعه: 2 افزوده",
            "he": "רשימת קריאה: נוספו 2"}
ADMINS = {"en": "only its admins", "ru": "только её администраторы", "fa": "فقط مدیرانش", "he": "רק המנהלים"}
PROFILE = {"en": "Interest profile", "ru": "Профиль интересов", "fa": "نمایهٔ علاقه‌مندی", "he": "פרופיל תחומי"}
WHY = {"en": "like ≈", "ru": "лайк ≈", "fa": "پسند ≈", "he": "אהבתי ≈"}
TOO_LARGE = {"en": "too large", "ru": "слишком большой", "fa": "بیش از حد بزرگ", "he": "גדול מדי"}
NOT_TEXT = {"en": "not text", "ru": "не текстовый", "fa": "متنی نیست", "he": "אינו קובץ טקסט"}
BIB = b"""@article{gonen2024,
  title = {Does Liking Yellow Imply Driving a School Bus?},
  eprint = {2408.06518}, archivePrefix = {arXiv}}
@inproceedings{no_id, title = {A paper with no arXiv id}, booktitle = {ACL}}
@misc{spell, url = {https://arxiv.org/abs/2212.10562v2}, title = {Character-aware models}}
"""


@pytest.fixture
async def feeds():
    server = FakeFeeds()
    server.papers = [
        ArxivPaper("2408.06518", LEAK_TITLE, "We identify semantic leakage in language models."),
        ArxivPaper("2212.10562", "Character-Aware Models Improve Visual Text Rendering", "Spelling in images."),
        ArxivPaper("2401.00001", "A <b>Bold</b> & \u202eReversed\u202c Title", "Markup must be escaped here."),
    ]
    async with server:
        yield server


async def bot(make_harness, feeds, **settings):
    return await make_harness(arxiv_api_base=f"{feeds.base_url}/api/query", arxiv_request_spacing_s=0, **settings)


def texts(calls):
    """Replies with the bidi isolates the RTL languages put around every value taken out (checked elsewhere)."""
    return [c.text.replace("\u2068", "").replace("\u2069", "") for c in calls if c.name == "sendMessage"]


def done(lang, *, added, already, skipped, pending=0):
    text = Translator(lang)("reading-list-done", added=added, already=already, pending=pending, skipped=skipped)
    return text.replace("\u2068", "").replace("\u2069", "")


async def listed(h, chat_id):
    async with h.sessionmaker() as session:
        return {row.arxiv_id: row for row in (await session.scalars(
            select(ReadingListEntry).where(ReadingListEntry.chat_id == chat_id))).all()}


@pytest.mark.parametrize("lang", ["en", "ru", "fa", "he"])
async def test_like_by_id_and_url_then_profile(make_harness, feeds, lang):
    h = await bot(make_harness, feeds)
    chat = h.chat(user_id=7, lang=lang)
    [reply] = texts(await chat.send("/like 2408.06518"))
    assert ADDED[lang] in reply and "Semantic Leakage" in reply and "2408.06518" in reply
    [reply] = texts(await chat.send("/like https://arxiv.org/abs/2408.06518v2"))
    assert ALREADY[lang] in reply
    [reply] = texts(await chat.send("/like https://arxiv.org/pdf/2401.00001"))
    assert "A &lt;b&gt;Bold&lt;/b&gt; &amp;" in reply  # escaped (and isolated: the title has an RLO)
    assert set(await listed(h, 7)) == {"2408.06518", "2401.00001"}
    [reply] = texts(await chat.send("/like two ids 2408.06518 2212.10562"))
    assert "https://arxiv.org/abs/2408.06518" in reply and "/like" in reply  # which one? the reason, then usage
    [reply] = texts(await chat.send("/profile"))
    assert PROFILE[lang] in reply and "👍 2" in reply and "Semantic Leakage" in reply


@pytest.mark.parametrize("lang", ["en", "ru", "fa", "he"])
async def test_bib_and_plain_list_uploads(make_harness, feeds, lang):
    h = await bot(make_harness, feeds)
    chat = h.chat(user_id=8, lang=lang)
    [reply] = texts(await chat.feed(chat.document_update(BIB, "mine.bib", caption="/like")))
    assert IMPORTED[lang] in reply and "2408.06518" in reply and "2212.10562" in reply
    assert done(lang, added=2, already=0, skipped=1) in reply  # the entry without an arXiv id is counted
    assert {row.paper_id is not None for row in (await listed(h, 8)).values()} == {True}
    # A plain list, sent in reply to the bot's /like prompt.
    [prompt] = [c for c in await chat.send("/like") if c.name == "sendMessage"]
    plain = b"# my list\n2408.06518\nhttps://arxiv.org/abs/2401.00001\nnot an id\n"
    [reply] = texts(await chat.feed(chat.document_update(plain, "list.txt", reply_to=prompt.result)))
    assert done(lang, added=1, already=1, skipped=1) in reply  # the comment is no entry; "not an id" is
    assert set(await listed(h, 8)) == {"2408.06518", "2212.10562", "2401.00001"}
    # Too large: refused before it is downloaded; a binary file: a reason.
    [reply] = texts(await chat.feed(chat.document_update(b"x", "big.bib", caption="/like", file_size=5_000_000)))
    assert TOO_LARGE[lang] in reply
    [reply] = texts(await chat.feed(chat.document_update(b"\x00\x01binary", "x.bin", caption="/like")))
    assert NOT_TEXT[lang] in reply
    # A document that is not an import is no import (the private chat's fallback answers it as any message).
    before = await listed(h, 8)
    assert not any(IMPORTED[lang][:8] in text for text in texts(await chat.feed(
        chat.document_update(b"2408.06518 2404.00002", "notes.txt"))))
    assert set(await listed(h, 8)) == set(before)


async def test_group_import_is_for_admins_like_for_anyone(make_harness, feeds):
    h = await bot(make_harness, feeds)
    member = h.chat(user_id=60, lang="he", chat_type="group", chat_id=-100_500)
    [reply] = texts(await member.feed(member.document_update(BIB, "mine.bib", caption="/like")))
    assert ADMINS["he"] in reply
    assert await listed(h, -100_500) == {}
    [reply] = texts(await member.send("/like 2408.06518"))  # /like is anyone's, as the 👍 button is
    assert ADDED["he"] in reply
    admin = h.chat(user_id=ADMIN_ID, lang="ru", chat_type="group", chat_id=-100_500)
    [reply] = texts(await admin.feed(admin.document_update(BIB, "mine.bib", caption="/like@paperbot")))
    assert "добавлено 1" in reply and "уже было 1" in reply


async def test_arxiv_down_leaves_it_pending_until_the_scheduler_resolves_it(make_harness, feeds, monkeypatch):
    h = await bot(make_harness, feeds)
    chat = h.chat(user_id=9, lang="fa")
    feeds.fail_next(503)
    [reply] = texts(await chat.send("/like 2212.10562"))
    assert PENDING["fa"] in reply
    assert (await listed(h, 9))["2212.10562"].paper_id is None
    # The scheduler's digest:pending job: arXiv still down → the next look waits 10 min, then 20 …
    clock = [1000.0]
    monkeypatch.setattr(scheduler, "_SERVICE", h.dp["digests"])
    monkeypatch.setattr(scheduler, "PENDING_BACKOFF", Backoff(first_s=600, max_s=3600))
    monkeypatch.setattr(scheduler, "_clock", lambda: clock[0])
    feeds.fail_next(503)
    await scheduler.pending_job()
    assert scheduler.PENDING_BACKOFF.next_at == 1600.0
    requests = len(feeds.api_requests)
    clock[0] = 1500.0
    await scheduler.pending_job()  # not due: arXiv is not asked
    assert len(feeds.api_requests) == requests and (await listed(h, 9))["2212.10562"].paper_id is None
    clock[0] = 1700.0
    await scheduler.pending_job()
    assert (await listed(h, 9))["2212.10562"].paper_id is not None
    assert scheduler.PENDING_BACKOFF.wait_s == 0 and scheduler.PENDING_BACKOFF.due(1700.0)
    [reply] = texts(await chat.send("/profile"))
    assert "Character-Aware" in reply  # the resolved paper is part of the profile now


def test_backoff_doubles_to_its_cap_and_resets_on_progress():
    backoff = Backoff(first_s=10, max_s=35)
    waits = []
    for now in range(4):
        backoff.record(Resolved(pending=2, resolved=0), float(now))
        waits.append(backoff.wait_s)
    assert waits == [10, 20, 35, 35] and not backoff.due(4.0) and backoff.due(38.0)
    backoff.record(Resolved(pending=2, resolved=1), 5.0)
    assert backoff.wait_s == 0 and backoff.due(5.0)


@pytest.mark.parametrize("lang", ["en", "ru", "fa", "he"])
async def test_why_and_sources_after_a_thumbs_up(make_harness, hub, lang):
    h = await make_harness(hub=hub, digest_arxiv_categories="")
    group = -100_600
    now = datetime.now(UTC)
    async with h.sessionmaker.begin() as session:
        session.add(Chat(id=group, type="supergroup", title="ML"))
        subscription, old, _, _ = await seed_a_russian_paper_issue(session, group, now=now, lang=lang, mode="both")
        sub_id, old_id = subscription.id, old.id
    member = h.chat(user_id=61, lang=lang, chat_type="supergroup", chat_id=group)
    [digest_message] = [c.result for c in await member.send("/profile") if c.name == "sendMessage"]
    calls = await member.feed(member.callback_update(
        digest_message, DigestVoteButton(issue_id=old_id, paper=1, value=1).pack()))  # 👍 on the Russian paper
    assert [c for c in calls if c.name == "answerCallbackQuery"]
    await h.dp["digests"].build_issue(sub_id, now)
    [reply] = texts(await member.send("/why"))
    assert WHY[lang] in reply and RUSSIAN[0] in reply and "Self-supervised" in reply
    admin = h.chat(user_id=ADMIN_ID, lang=lang, chat_type="supergroup", chat_id=group)
    reply = "\n".join(texts(await admin.send("/sources")))
    assert WHY[lang] in reply and RUSSIAN[0] in reply
