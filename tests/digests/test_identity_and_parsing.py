"""Paper identity, language identification and /subscribe syntax: pure functions, multilingual inputs."""
import pytest

from digests.compose import extractive_summary, matches
from digests.identity import arxiv_ids, dois, paper_key
from digests.language import detect_language
from digests.subscription import SubscribeError, describe, parse_subscribe

POSTS = {
    "en": "New paper on semantic leakage: https://arxiv.org/abs/2408.06518v2 — models leak concepts.",
    "ru": "Разбираем статью про семантическую утечку в языковых моделях: arxiv.org/pdf/2408.06518. "
          "Модели переносят цвет в профессию.",
    "fa": "مقالهٔ جالبی دربارهٔ نشت معنایی در مدل‌های زبانی خواندم: arXiv:2408.06518 — رنگ زرد و راننده اتوبوس!",
    "he": "מאמר חדש על דליפה סמנטית במודלי שפה, https://arxiv.org/html/2408.06518v1 — צהוב ונהג אוטובוס.",
}


@pytest.mark.parametrize("language", sorted(POSTS))
def test_the_same_arxiv_id_is_found_in_every_language_and_url_form(language):
    assert paper_key(POSTS[language]) == "arxiv:2408.06518"
    assert detect_language(POSTS[language]) == language


def test_identity_variants():
    assert arxiv_ids("see hep-th/9901001 and arXiv:hep-th/9901001v3") == ["hep-th/9901001"]
    assert arxiv_ids("version 1.2345 and phone 12345.6789") == []  # not ids: too short / wrong shape
    assert arxiv_ids("2212.10562 and 2212.10562v4") == ["2212.10562"]
    assert dois("doi: 10.18653/v1/2024.emnlp-main.42.") == ["10.18653/v1/2024.emnlp-main.42"]
    assert paper_key("no id here", title="Character-Aware Models Improve Visual Text Rendering") == \
        "title:character aware models improve visual text rendering"
    assert paper_key("no id", title="short") is None


def test_language_of_mixed_and_empty_posts():
    assert detect_language("Статья Attention Is All You Need снова в тренде, обсуждаем.") == "ru"
    assert detect_language("12345 !!!") == "other"
    assert detect_language("Nous présentons un nouveau modèle de langue pour le français.") == "other"


def test_subscribe_syntax():
    spec = parse_subscribe("LLM, semantic leakage lang=ru daily=9:05 tz=Europe/Moscow size=7 empty=silent")
    assert spec.topics == ["llm", "semantic leakage"] and spec.language == "ru"
    assert (spec.schedule, spec.time, spec.timezone, spec.size, spec.empty_policy) == \
        ("daily", "09:05", "Europe/Moscow", 7, "silent")
    weekly = parse_subscribe("diffusion weekly=MON@18:30", default_language="he")
    assert (weekly.schedule, weekly.weekday, weekly.time, weekly.language) == ("weekly", 0, "18:30", "he")
    assert describe(weekly) == "weekly mon 18:30 UTC"
    assert parse_subscribe("نشت معنایی, llm lang=fa").topics == ["نشت معنایی", "llm"]


@pytest.mark.parametrize("text, code", [
    ("", "empty"), ("lang=ru", "no-topics"), ("llm lang=xx", "bad-language"), ("llm daily=25:00", "bad-time"),
    ("llm weekly=funday@09:00", "bad-weekday"), ("llm tz=Mars/Olympus", "bad-timezone"),
    ("llm size=0", "bad-size"), ("llm size=abc", "bad-size"), ("llm empty=maybe", "bad-empty"),
    ("llm color=red", "unknown-option"), ("llm lang=ru lang=en", "duplicate-option"),
    (",".join(f"t{i}" for i in range(11)), "too-many-topics"), ("x" * 70, "topic-too-long"),
])
def test_subscribe_errors_name_the_problem(text, code):
    with pytest.raises(SubscribeError) as error:
        parse_subscribe(text)
    assert error.value.code == code


def test_topic_matching_is_whole_word_and_unicode():
    assert matches("llm", "An LLM that spells") and not matches("llm", "allmost")
    assert matches("утечка", "Семантическая УТЕЧКА в моделях")
    assert matches("semantic leakage", "On Semantic Leakage.")


def test_extractive_summary_never_fails():
    text = "First sentence here. Second one is longer than the first. " + "Third " * 200
    summary = extractive_summary(text, limit=80)
    assert summary == "First sentence here. Second one is longer than the first."
    assert extractive_summary("word " * 400, limit=50).endswith("…")
    assert extractive_summary("") == ""
