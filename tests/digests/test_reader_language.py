"""Digests in the reader's language without a translation model, on the bundled samples in all four languages: a
paper with a grouped post in the reader's language is summarized by that post (quoted, attributed, links removed,
trimmed at a sentence end); one without falls back to the original, marked; English readers get the abstracts."""
import re

import pytest

from digests.compose import Candidate, Post, post_quote, reader_post, summarize

TOPICS = "leakage, spelling, preference, low-rank, reasoning"
TITLES = {"leak": "Does Liking Yellow", "char": "Character-Aware Models", "dpo": "Direct Preference Optimization",
          "lora": "LoRA: Low-Rank", "cot": "Chain-of-Thought"}
# Which sample papers have a post in each language (digests/samples/posts.jsonl), and its channel.
QUOTED = {
    "ru": {"leak": "ML по-русски", "char": "ML по-русски", "lora": "ML по-русски", "cot": "ML по-русски"},
    "fa": {"leak": "یادگیری ماشین به فارسی", "char": "یادگیری ماشین به فارسی", "dpo": "یادگیری ماشین به فارسی",
           "cot": "یادگیری ماشین به فارسی"},
    "he": {"leak": "למידת מכונה בעברית", "char": "למידת מכונה בעברית", "lora": "למידת מכונה בעברית"},
    "en": {},
}
MARK = {"ru": "на языке оригинала", "fa": "به زبان اصلی", "he": "בשפת המקור", "en": "[in "}
QUOTE_MARKS = {"ru": ("«", "»"), "fa": ("«", "»"), "he": ("„", "”")}


def sections(preview: str) -> dict[str, str]:
    """The preview split into its numbered paper entries, keyed by paper."""
    parts = re.split(r"<b>\d+\.</b> ", preview)[1:]
    found = {}
    for part in parts:
        for key, title in TITLES.items():
            if title in part:
                found[key] = part
    return found


@pytest.mark.parametrize("language", ["en", "ru", "fa", "he"])
async def test_sample_digest_in_each_language(make_harness, hub, language):
    harness = await make_harness(hub=hub)
    service = harness.dp["digests"]
    await service.load_samples()
    chat = harness.chat(user_id=20, lang=language)
    await chat.send(f"/subscribe {TOPICS} lang={language} size=10")
    preview = [c.text for c in await chat.send("/digest") if c.name == "sendMessage"][-1]
    entries = sections(preview)
    assert set(entries) == set(TITLES), preview  # every sample paper, each once
    for key, entry in entries.items():
        channel = QUOTED[language].get(key)
        summary, origin = entry.split("\n")[1:3]  # the summary, then (previews only) where it came from
        assert origin.startswith("<i>ℹ️ ") and origin.endswith("</i>"), entry
        if channel is not None:
            opening, closing = QUOTE_MARKS[language]
            quote = re.search(f"<i>{opening}(.+?){closing}</i> — <a href=\"https://t.me/c/\\d+/\\d+\">(.+?)</a>",
                              entry)
            assert quote, entry
            assert channel in quote.group(2)
            assert "arxiv" not in quote.group(1).lower() and "http" not in quote.group(1)
            assert MARK[language] not in summary
            assert f"({language})" in origin or f"\u2068{language}\u2069" in origin  # "taken from a ru post"
        elif language == "en":
            assert "<i>" not in summary and MARK["en"] not in summary  # the English abstract, unmarked
            assert "own abstract" in origin
        else:
            assert MARK[language] in summary  # no post in this language, no model: the original, marked
            assert "DIGEST_SUMMARY_MODEL" in origin  # and the preview says why: no model configured


def _entry(*posts: Post) -> Candidate:
    class Paper:
        id, title, language, url = 1, "A paper", "en", "https://arxiv.org/abs/2408.06518"
        abstract = "An English abstract. It has two sentences."

    return Candidate(Paper(), list(posts))  # type: ignore[arg-type]


async def test_quote_is_trimmed_at_a_sentence_end_and_the_longest_post_wins():
    long_post = Post("channel", "A", "ru", "https://t.me/c/1/2",
                     "Первое предложение про статью. " * 20 + "https://arxiv.org/abs/2408.06518")
    short = Post("channel", "B", "ru", None, "Коротко о статье: модели путают понятия. arXiv:2408.06518")
    entry = _entry(short, long_post, Post("channel", "C", "fa", None, "یک پست فارسی درباره مقاله است."))
    assert reader_post(entry, "ru") is long_post
    await summarize(entry, "ru")
    assert entry.quoted is long_post and entry.summary_language == "ru"
    assert entry.summary.endswith(".") and len(entry.summary) <= 320 and "http" not in entry.summary
    assert post_quote(short.text) == "Коротко о статье: модели путают понятия."
    await summarize(entry, "en")  # the paper's own language: its abstract
    assert entry.quoted is None and entry.summary.startswith("An English abstract")
    await summarize(entry, "he")  # nothing in Hebrew, no model: the original
    assert entry.quoted is None and entry.summary_language == "en"
