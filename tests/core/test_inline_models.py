"""Inline mode with the real models (slow): `@bot strawberry` gives the /spell card from the trained spellers, and
the "Run /leak in a chat with me" deep link (`/start leak-…`) runs that probe in the private chat."""
import pytest

from handlers.inline import leak_payload
from tests.core.test_inline import answer_of

pytestmark = pytest.mark.slow


async def test_inline_spell_and_deep_link_leak(make_harness, hub):
    h = await make_harness(hub=hub, leak_samples=2, leak_max_new_tokens=8)
    chat = h.chat(user_id=41, lang="en")
    answer = await answer_of(chat, "strawberry")
    if answer.results:  # within the 5 s inline bound (a cold model load on a loaded machine can miss it)
        body = answer.results[0].input_message_content.message_text
        assert "char-aware" in body and "char-blind" in body
    calls = await chat.send(f"/start {leak_payload('yellow | He works as a')}")
    texts = [c.text or "" for c in calls if c.name in ("sendMessage", "editMessageText")]
    assert any("Leak-Rate" in text for text in texts)
