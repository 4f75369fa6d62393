"""/paper through the real dispatcher: by id, URL and title words, from the local store and from the (fake) arXiv
API, in four languages; an unknown paper; arXiv down → a message, then the background retry edits in the card;
the 👍 button puts the paper on the chat's reading list (services/profile.py)."""
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

import services.paper
from fakes.feeds import ArxivPaper, FakeFeeds
from storage.schema.digest import DigestIssue, DigestItem, DigestSource, Paper, Subscription
from storage.schema.groups import DigestVote
from storage.schema.profile import ReadingListEntry

LEAK_TITLE = "Does Liking Yellow Imply Driving a School Bus? Semantic Leakage in Language Models"
EXPECT = {"en": "Posts about it", "ru": "Посты о ней", "fa": "پست‌های مربوط", "he": "פוסטים עליו"}
NOT_FOUND = {"en": "No paper found", "ru": "не найдена", "fa": "پیدا نشد", "he": "לא נמצא מאמר"}
UNREACHABLE = {"en": "cannot be reached", "ru": "недоступен", "fa": "دسترسی نیست", "he": "אין כרגע גישה"}


@pytest.fixture
async def feeds():
    server = FakeFeeds()
    server.papers = [
        ArxivPaper("2408.06518", LEAK_TITLE, "We identify semantic leakage. Unrelated concepts leak into outputs.",
                   authors=("Hila Gonen", "Terra Blevins", "Alisa Liu", "Luke Zettlemoyer", "Noah A. Smith")),
        ArxivPaper("2401.00001", "A <b>Bold</b> & \u202eReversed\u202c Title", "Markup must be escaped here."),
    ]
    async with server:
        yield server


async def bot(make_harness, feeds):
    return await make_harness(arxiv_api_base=f"{feeds.base_url}/api/query", arxiv_request_spacing_s=0)


def replies(calls, method="sendMessage"):
    return [c for c in calls if c.name == method]


@pytest.mark.parametrize("lang", ["en", "ru", "fa", "he"])
async def test_paper_by_id_url_and_words(make_harness, feeds, lang):
    h = await bot(make_harness, feeds)
    chat = h.chat(user_id=7, lang=lang)
    reply = replies(await chat.send("/paper https://arxiv.org/abs/2408.06518v2"))[-1]
    assert "Semantic Leakage" in reply.text and "arXiv:2408.06518" in reply.text
    assert "Hila Gonen, Terra Blevins" in reply.text
    buttons = reply.result.reply_markup.inline_keyboard
    assert [b.switch_inline_query_current_chat for row in buttons for b in row if b.switch_inline_query_current_chat] \
        == ["leak yellow | He works as a"]  # the demo button for Gonen et al. 2024
    assert len(feeds.api_requests) == 1
    # Posts about it in two languages, grouped by language; the Russian reader gets the Russian post quoted.
    async with h.sessionmaker.begin() as session:
        paper = (await session.scalars(select(Paper).where(Paper.key == "arxiv:2408.06518"))).one()
        src = DigestSource(kind="channel", locator="-100555", name="ML <ru> канал")
        session.add(src)
        await session.flush()
        for n, (language, text) in enumerate([("ru", "Статья о семантической утечке: модели переносят понятия из "
                                                     "подсказки в ответ, даже когда это не нужно."),
                                              ("en", "A paper on semantic leakage in language models, worth reading "
                                                     "for anyone who studies prompts.")]):
            session.add(DigestItem(source_id=src.id, external_id=f"-100555:{n}", paper_id=paper.id, text=text,
                                   language=language, published_at=datetime.now(UTC)))
    reply = replies(await chat.send("/paper 2408.06518"))[-1]
    assert len(feeds.api_requests) == 1  # the local store answered
    assert EXPECT[lang] in reply.text and "<b>ru</b>" in reply.text and "<b>en</b>" in reply.text
    assert "ML &lt;ru&gt; канал" in reply.text  # escaped source name
    if lang == "ru":
        assert "семантической утечке" in reply.text
    reply = replies(await chat.send("/paper semantic leakage yellow"))[-1]  # title words, local store
    assert "arXiv:2408.06518" in reply.text


async def test_title_words_from_arxiv_and_escaping(make_harness, feeds):
    h = await bot(make_harness, feeds)
    chat = h.chat(user_id=8, lang="he")
    reply = replies(await chat.send("/paper bold reversed title"))[-1]
    assert "A &lt;b&gt;Bold&lt;/b&gt; &amp;" in reply.text and "\u2068" in reply.text  # escaped and isolated
    assert any("search_query" in params for _, params in feeds.api_requests)


@pytest.mark.parametrize("lang", ["en", "ru", "fa", "he"])
async def test_unknown_and_empty(make_harness, feeds, lang):
    h = await bot(make_harness, feeds)
    chat = h.chat(user_id=9, lang=lang)
    assert NOT_FOUND[lang] in replies(await chat.send("/paper 2501.99999"))[-1].text
    assert "/paper" in replies(await chat.send("/paper"))[-1].text  # usage


@pytest.mark.parametrize("lang", ["en", "he"])
async def test_unreachable_then_background_retry(make_harness, feeds, monkeypatch, lang):
    monkeypatch.setattr(services.paper, "RETRY_DELAYS_S", (0.05, 0.05, 0.05))
    h = await bot(make_harness, feeds)
    chat = h.chat(user_id=10, lang=lang)
    feeds.fail_next(503, 503)  # the /paper lookup and the first retry fail, the second retry gets through
    calls = await chat.send("/paper 2408.06518")
    assert UNREACHABLE[lang] in replies(calls)[-1].text
    before = len(h.session.calls) if hasattr(h.session, "calls") else 0
    await h.dp["jobs"].drain()
    edits = [c for c in getattr(h.session, "calls", [])[before:] if c.name == "editMessageText"]
    assert edits and "Semantic Leakage" in edits[-1].text
    assert len(feeds.api_requests) == 3


async def test_gives_up_after_bounded_attempts(make_harness, feeds, monkeypatch):
    monkeypatch.setattr(services.paper, "RETRY_DELAYS_S", (0.01, 0.01))
    h = await bot(make_harness, feeds)
    feeds.fail_next(*[503] * 10)
    await h.chat(user_id=11).send("/paper 2408.06518")
    await h.dp["jobs"].drain()
    assert len(feeds.api_requests) == 3  # the command's lookup and two retries, no more
    edits = [c for c in h.session.calls if c.name == "editMessageText"]
    assert "still unreachable" in edits[-1].text


async def test_like_button_adds_to_reading_list(make_harness, feeds):
    h = await bot(make_harness, feeds)
    chat = h.chat(user_id=12, lang="ru")
    reply = replies(await chat.send("/paper 2408.06518"))[-1]
    answers = [c for c in await chat.press(reply.result, 2) if c.name == "answerCallbackQuery"]
    assert "список чтения" in answers[-1].method.text
    async with h.sessionmaker() as session:
        entry = (await session.scalars(select(ReadingListEntry))).one()
    assert entry.arxiv_id == "2408.06518" and entry.paper_id is not None and entry.chat_id == chat.chat.id


ADMINS = {"en": "Only this group's admins", "ru": "только администраторы", "fa": "فقط مدیران", "he": "רק המנהלים"}


@pytest.mark.parametrize("lang", ["en", "ru", "fa", "he"])
async def test_link_cards_in_groups(make_harness, feeds, lang):
    h = await bot(make_harness, feeds)
    member = h.chat(user_id=21, lang=lang, chat_type="group", chat_id=-4001)
    admin = h.chat(user_id=99, lang=lang, chat_type="group", chat_id=-4001)  # ADMIN_ID: admin of every group
    link = "look: https://arxiv.org/abs/2408.06518 and arxiv:2212.10562"
    assert not replies(await member.send(link))  # off by default: silent
    reply = replies(await member.send("/paper cards on"))[-1]
    assert ADMINS[lang] in reply.text  # a member may not turn them on
    assert not replies(await member.send(link))
    await admin.send("/paper cards on")
    cards = replies(await member.send(link))
    assert len(cards) == 1 and "arXiv:2408.06518" in cards[0].text  # one card per message, the first link
    assert not replies(await member.send("2408.06518 without a link"))  # a bare number is no link
    await admin.send("/paper cards off")
    assert not replies(await member.send(link))


async def test_no_link_cards_in_private_or_for_bad_switch(make_harness, feeds):
    h = await bot(make_harness, feeds)
    private = h.chat(user_id=22)
    assert "for groups" in replies(await private.send("/paper cards on"))[-1].text
    admin = h.chat(user_id=99, chat_type="group", chat_id=-4002)
    assert "/paper cards on" in replies(await admin.send("/paper cards maybe"))[-1].text


async def test_vote_buttons_record_the_digest_vote(make_harness, feeds):
    h = await bot(make_harness, feeds)
    chat = h.chat(user_id=13, lang="fa")
    reply = replies(await chat.send("/paper 2408.06518"))[-1]
    alert = [c for c in await chat.press(reply.result, 1) if c.name == "answerCallbackQuery"][-1]
    assert "هیچ خلاصه‌ای" in alert.method.text  # no issue of this chat carried it: nothing to vote in
    async with h.sessionmaker.begin() as session:
        paper = (await session.scalars(select(Paper).where(Paper.key == "arxiv:2408.06518"))).one()
        sub = Subscription(chat_id=chat.chat.id, topics=["leakage"], language="fa", schedule="daily", time="09:00",
                           timezone="UTC", size=5, empty_policy="note")
        session.add(sub)
        await session.flush()
        session.add(DigestIssue(subscription_id=sub.id, period="2026-12-01T09:00", papers=[paper.id], text="x"))
    await chat.press(reply.result, 1)  # 👎
    async with h.sessionmaker() as session:
        vote = (await session.scalars(select(DigestVote))).one()
    assert vote.value == -1 and vote.paper_id == paper.id and vote.chat_id == chat.chat.id
    await chat.press(reply.result, 0)  # 👍 changes it
    async with h.sessionmaker() as session:
        assert (await session.scalars(select(DigestVote))).one().value == 1
