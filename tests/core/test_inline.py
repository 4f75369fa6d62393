"""Inline mode through the real dispatcher: `inline_query` updates in, answerInlineQuery payloads checked (results,
cache_time, is_personal, the deep-link button) in four languages; empty, huge, RTL and HTML queries."""
import itertools
import json

import pytest
from aiogram.types import InlineQuery, Update, User as TgUser
from sqlalchemy import select

from fakes.feeds import ArxivPaper, FakeFeeds
from handlers.inline import leak_arguments, leak_payload
from storage.schema.core import User
from storage.schema.digest import Paper
from storage.schema.leak import LeakResult

_ids = itertools.count(900_000)
RUN = {"en": "Run /leak", "ru": "Запустить /leak", "fa": "اجرای /leak", "he": "הרצת"}


def inline_update(text: str, *, user_id: int = 5, lang: str = "en") -> Update:
    return Update(update_id=next(_ids), inline_query=InlineQuery(
        id=str(next(_ids)), from_user=TgUser(id=user_id, is_bot=False, first_name="Ada", language_code=lang),
        query=text, offset=""))


async def answer_of(chat, text: str, lang: str = "en"):
    calls = await chat.feed(inline_update(text, lang=lang))
    answers = [c for c in calls if c.name == "answerInlineQuery"]
    assert len(answers) == 1
    method = answers[0].method
    assert method.cache_time and method.is_personal is True
    return method


@pytest.fixture
async def feeds():
    server = FakeFeeds()
    server.papers = [ArxivPaper("2408.06518", "Semantic Leakage in Language Models", "Models leak concepts.")]
    async with server:
        yield server


@pytest.mark.parametrize("lang", ["en", "ru", "fa", "he"])
async def test_inline_paper_and_leak(make_harness, feeds, lang):
    h = await make_harness(arxiv_api_base=f"{feeds.base_url}/api/query", arxiv_request_spacing_s=0)
    chat = h.chat(user_id=5, lang=lang)
    # Not stored yet: inline never calls arXiv; a button opens a chat with the bot instead.
    answer = await answer_of(chat, "2408.06518", lang)
    assert answer.results == [] and answer.button.start_parameter == "paper"
    assert not feeds.api_requests
    await chat.send("/paper 2408.06518")  # now stored
    answer = await answer_of(chat, "https://arxiv.org/pdf/2408.06518v1", lang)
    assert len(answer.results) == 1 and "Semantic Leakage" in answer.results[0].input_message_content.message_text
    # /leak: nothing cached → the deep link; /start with it decodes to the same probe.
    answer = await answer_of(chat, "leak yellow | He works as a", lang)
    assert answer.results == [] and RUN[lang] in answer.button.text
    assert leak_arguments(answer.button.start_parameter) == "yellow | He works as a"
    async with h.sessionmaker.begin() as session:
        user = (await session.scalars(select(User))).first()
        session.add(LeakResult(user_id=user.id if user else None, chat_id=None, probe_id="user", language="en",
                               concept="yellow", control="He works as a", test="He likes yellow. He works as a",
                               model="gemma-3-270m", n=20, temperatures=[1.0], leak_rate=71.5, ci_low=60.0,
                               ci_high=80.0, p_value=0.001, samples={}))
    answer = await answer_of(chat, "leak yellow | He works as a", lang)
    assert len(answer.results) == 1
    assert "71.5" in answer.results[0].input_message_content.message_text


@pytest.mark.parametrize("text", ["", " ", "x" * 5000, "<b>bold</b> & שלום", "سلام دنیا", "leak <i>|</i>",
                                  "leak", "\u202e2408.06518"])
async def test_odd_queries_answered(harness, text):
    answer = await answer_of(harness.chat(), text)
    for result in answer.results:
        assert "<b>bold</b>" not in result.input_message_content.message_text


async def test_html_title_escaped_inline(make_harness):
    h = await make_harness()
    async with h.sessionmaker.begin() as session:
        session.add(Paper(key="arxiv:2401.00001", title="<script>x</script> & \u202eevil", abstract="a"))
    answer = await answer_of(h.chat(lang="he"), "2401.00001", "he")
    body = answer.results[0].input_message_content.message_text
    assert "&lt;script&gt;" in body and "<script>" not in body


def test_deep_link_payload_limits():
    assert leak_payload("x" * 100 + " | y") is None  # too long for a start parameter: no button
    assert leak_arguments(leak_payload("жёлтый | Он работает")) == "жёлтый | Он работает"
    assert leak_arguments("leak-%%%") is None


async def test_inline_through_webhook_and_fake_botapi(make_webhook_bot):
    """The whole path: Telegram's JSON posted to the webhook, the inbox, the dispatcher, and answerInlineQuery as
    an HTTP call to the fake Bot API; setWebhook asks Telegram for inline queries."""
    async with make_webhook_bot() as webhook:
        [set_webhook] = webhook.fake.calls_to("setWebhook")
        assert "inline_query" in set_webhook.params["allowed_updates"]
        body = {"update_id": next(_ids), "inline_query": {
            "id": "iq-1", "from": {"id": 31, "is_bot": False, "first_name": "Ada", "language_code": "ru"},
            "query": "leak yellow | He works as a", "offset": ""}}
        assert await webhook.post(body) == 200
        await webhook.wait_for(lambda: bool(webhook.fake.calls_to("answerInlineQuery")), "answerInlineQuery")
        [call] = webhook.fake.calls_to("answerInlineQuery")
        params = call.params
        assert params["inline_query_id"] == "iq-1" and params["is_personal"] in (True, "true")
        assert int(params["cache_time"]) == 30
        button = params["button"] if isinstance(params["button"], dict) else json.loads(params["button"])
        assert button["start_parameter"].startswith("leak-") and "Запустить /leak" in button["text"]
