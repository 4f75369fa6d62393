"""Spelling: word lists, the normalisation rule, input parsing, the held-out evaluation lists (and that char-aware's
training never sees them), the two training streams, the shipped trained models (char-aware copies any token up to
the limit; char-blind, reading its own word pieces, spells frequent words it has memorised and not nonsense or rare
words), the benchmark CLI contract on outside-style lists, and /spell in the chat (acceptance and localized
refusals)."""
import json
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from models.spelling.data import aware_examples, blind_examples, frequency_list, known_words
from models.spelling.evalsets import CLDR_DIR, EVAL_BUCKETS, held_out, held_out_folded
from models.spelling.metrics import SpellingResult, cer, edit_distance
from models.spelling.parse import SpellInputError, parse_word
from models.spelling.pieces import case_of
from models.spelling.seq2seq import MAX_CHARS, WEIGHTS_DIR, Speller
from models.spelling.words import (
    BUCKETS,
    LANGUAGES,
    LETTERS as ALPHABET_LETTERS,
    SCRIPTS,
    ZWNJ,
    bucket_of,
    buckets,
    normalize,
    ranked_words,
    read_tsv,
    script_of,
    spelled,
    unspell,
    write_tsv,
)

ROOT = Path(__file__).resolve().parents[2]
# An outside list in the paper's format, cased as text is: names, acronyms, mixed case, hyphens, apostrophes,
# long rare words.
OUTSIDE_TOP = ["Strawberry", "strawberry", "London", "NASA", "McDonald", "iPhone", "Anna", "Paul", "O'Brien",
               "don't", "well-known", "USA", "Monday", "GitHub", "e-mail", "e.g.", "Inc.", "U.S."]
OUTSIDE_BOTTOM = ["thoughtlessnesses", "Thoughtlessnesses", "THOUGHTLESSNESSES", "antidisestablishment",
                  "Llanfairpwllgwyngyll", "Zbigniew", "Krzyzanowski", "mother-in-law's", "Saint-Exupéry",
                  "quizzaciousness", "Xochiquetzal", "rock'n'roll", "Brzeczyszczykiewicz",
                  "COVID-19", "pneumonoultramicroscopic", "octamethylcyclotetrasiloxane", "ethylenediamine",
                  "œnology", "Škoda", "C♯", "+ve", "sh**", ".com", "€", "50%", "🇺🇦"]


@pytest.fixture(scope="module")
def aware():
    return Speller.load("char-aware")


@pytest.fixture(scope="module")
def blind():
    return Speller.load("char-blind")


@pytest.mark.parametrize("language", LANGUAGES)
def test_word_lists_are_script_pure_and_bucketed(language):
    words = ranked_words(language)
    assert len(words) == 20_000 and all(SCRIPTS[language].fullmatch(w) for w in words)
    parts = buckets(language)
    assert list(parts) == [name for name, _, _ in BUCKETS]
    assert len(parts["top1"]) == 200 and len(parts["bottom50"]) == 10_000
    assert bucket_of(parts["top1"][0], language) == "top1" and bucket_of("zzzzqqq", language) == "rare"
    assert bucket_of(parts["top1"][0].upper(), language) == "top1"  # the band of "Paris" is that of "paris"


def test_metrics_and_wikispell_format(tmp_path):
    assert edit_distance("kitten", "sitting") == 3 and cer("strawbery", "strawberry") == pytest.approx(0.1)
    assert spelled("кот") == "к о т" and unspell("к о т") == "кот"
    assert spelled(f"می{ZWNJ}خواهم").count(" ") == 7  # ZWNJ is a character of its own
    result = SpellingResult("m", "word", "wrod")
    assert not result.correct and [ok for _, ok in result.marks()] == [True, False, False, True]
    path = tmp_path / "top1.tsv"
    write_tsv(path, ["Cat", "שלום", "O'Brien"])
    assert read_tsv(path) == [("Cat", "Cat"), ("שלום", "שלום"), ("O'Brien", "O'Brien")]


@pytest.mark.parametrize("text, code", [
    ("", "empty"), ("   ", "empty"), ("\u05b8", "empty"), ("two words", "several"), ("a\u00a0b", "several"),
    ("a" * (MAX_CHARS + 1), "too-long"), ("a\x00b", "nul"), ("a\x1bb", "control"), ("\x7f", "control"),
    ("\ud83d", "surrogate"), ("ab\udfff", "surrogate"),
])
def test_what_spell_still_refuses_is_named(text, code):
    with pytest.raises(SpellInputError) as error:
        parse_word(text)
    assert error.value.code == code


def test_any_single_token_is_accepted_as_written():
    assert parse_word("Strawberry") == ("Strawberry", "en")
    assert parse_word("ЁЖИК") == ("ЁЖИК", "ru")
    assert parse_word("iPhone") == ("iPhone", "en")
    assert parse_word("don't") == ("don't", "en") and parse_word("COVID-19") == ("COVID-19", "en")
    assert parse_word("Ростов-на-Дону") == ("Ростов-на-Дону", "ru")
    assert parse_word("cafe\u0301") == ("café", "en")  # NFC composes é
    assert parse_word("كتاب")[0] == "کتاب"  # Arabic kaf → Persian keheh
    assert parse_word(f"{ZWNJ}می{ZWNJ}خواهم{ZWNJ}") == (f"می{ZWNJ}خواهم", "fa")
    assert parse_word("שָׁלוֹם") == ("שלום", "he")  # niqqud dropped
    assert parse_word("كِتَاب")[0] == "کتاب"  # harakat dropped
    assert parse_word("צה״ל") == ("צה״ל", "he") and parse_word("۱۴۰۳ساله") == ("۱۴۰۳ساله", "fa")
    assert parse_word("שָׁ" * MAX_CHARS)[0] == "ש" * MAX_CHARS  # marks do not count towards the limit
    # Punctuation, symbols, other alphabets and emoji are kept; the language is that of most letters.
    for token, language in [("e.g.", "en"), ("Inc.", "en"), ("т.е.", "ru"), ("C♯", "en"), ("sh**", "en"),
                            ("œnology", "en"), ("Škoda", "en"), ("iPhone-ом", "en"), ("<b>", "en"), ("λόγος", "fa"),
                            ("€", "fa"), ("👨\u200d👩\u200d👧", "fa"), ("❤\ufe0f", "fa"), ("ש״ח₪", "he")]:
        assert parse_word(token, default_language="fa") == (token, language)
    assert parse_word("x" * MAX_CHARS)[0] == "x" * MAX_CHARS and MAX_CHARS >= 40
    assert normalize("Strawberry") == "Strawberry" and normalize("\U0001f1fa\U0001f1e6") == "🇺🇦"


def test_held_out_lists_look_like_text_and_char_aware_never_sees_them():
    lists = held_out()
    for language in LANGUAGES:
        assert list(lists[language]) == list(EVAL_BUCKETS)
        words = [w for bucket in lists[language].values() for w in bucket]
        assert all(len(bucket) == 250 for bucket in lists[language].values())
        assert all(normalize(w) == w and 1 <= len(w) <= MAX_CHARS and not any(c.isspace() for c in w)
                   for w in words)
        assert len({w.casefold() for w in words}) == len(words)
        assert sum("-" in w for w in words) >= 20  # hyphenated words
        # Natural tokens: punctuation inside or at the end, digits, symbols, emoji, not only letters.
        assert sum(any(unicodedata.category(c).startswith("P") for c in w) and any(c.isalpha() for c in w)
                   for w in words) >= 40
        assert sum(w.endswith(".") for w in words) >= 3 or language == "he"
        assert sum(any(c.isdigit() for c in w) for w in words) >= 20
        assert sum(any(unicodedata.category(c) == "So" for c in w) for w in words) >= 10  # emoji
        if language in ("en", "ru"):
            assert sum(w[:1].isupper() for w in words) >= 200  # names in their natural case
        assert all(script_of(w) in (language, None) for w in words)
    # char-aware's stream (its first 40 000 strings here) holds no held-out token, nor any word wordfreq knows.
    folded = held_out_folded()
    stream = {w.casefold() for w in aware_examples(0, 40_000)}
    assert not stream & folded and not stream & known_words()


def test_cldr_lists_are_a_second_outside_source():
    from wordfreq import zipf_frequency

    for language in LANGUAGES:
        top, rare = ([w for w, _ in read_tsv(CLDR_DIR / f"{language}-{bucket}.tsv")] for bucket in ("top", "rare"))
        assert len(top) == len(rare) >= 150 and not set(top) & set(rare)
        assert min(zipf_frequency(w, language) for w in top) >= max(zipf_frequency(w, language) for w in rare)
        assert any(not c.isalnum() for w in top + rare for c in w)  # abbreviations, symbols (`янв.`, `₪`)


def test_held_out_lists_are_rebuilt_exactly_from_their_sources(tmp_path):
    pytest.importorskip("faker")
    from models.spelling.evalsets import EVAL_DIR, build, build_cldr

    build(directory=tmp_path)
    build_cldr(directory=tmp_path / "cldr")
    for path in sorted(EVAL_DIR.glob("*.tsv")) + sorted(CLDR_DIR.glob("*.tsv")):
        rebuilt = tmp_path / path.relative_to(EVAL_DIR)
        assert rebuilt.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), path.name


def test_char_aware_stream_is_any_character_up_to_the_limit():
    words = list(aware_examples(0, 4000))
    assert max(map(len, words)) == MAX_CHARS and min(map(len, words)) == 1
    assert sum(len(w) > 30 for w in words) > 400  # half the lengths are uniform up to the limit
    assert {script_of(w) for w in words} >= set(LANGUAGES)
    categories = Counter(unicodedata.category(c)[0] for w in words for c in w)
    assert all(categories[k] > 500 for k in "LPSN")  # letters, punctuation, symbols (emoji), digits
    assert any("\u200d" in w for w in words) and any(c in "\U0001f1e6\U0001f1ff" for w in words for c in w)
    assert words == list(aware_examples(0, 4000))  # reproducible


def test_char_blind_stream_is_real_words_by_frequency():
    words = list(blind_examples(0, 40_000))
    listed = {language: set(frequency_list(language)[0]) for language in LANGUAGES}
    assert all(any(w.removesuffix(".").lower() in known or w.removesuffix(".") in known
                   for known in listed.values()) for w in words)
    counts = Counter(w.lower() for w in words)
    # Frequent words recur (they can be memorised), rare ones barely appear: "the" far more than "thoughtful".
    assert counts["the"] > 15 and counts["в"] > 15 and counts["thoughtful"] <= 3
    assert any(w.istitle() for w in words) and any(w.isupper() and len(w) > 3 for w in words)
    assert words == list(blind_examples(0, 40_000))


def _accuracy(model, words):
    predicted = model.spell(list(words))
    return sum(p == w for p, w in zip(predicted, words, strict=True)) / len(words)


# Tokens as text writes them (the issue's misses among them), and every length up to the limit.
HARD = ["e.g.", "Inc.", ".com", "+ve", "sh**", "C♯", "€", "%", "œnology", "Škoda", "ethylenediamine",
        "antitotalitarians", "octamethylcyclotetrasiloxane", "т.е.", "ש״ח", "ج.ا.ا", "😂", "🇺🇦", "👨\u200d👩\u200d👧",
        "❤\ufe0f", "🧖🏼\u200d♂\ufe0f", "1\ufe0f\u20e3", "Λόγος", "東京", "서울", "$27,115.87", "chang-fisher.com",
        "a" * MAX_CHARS, "ab" * (MAX_CHARS // 2),
        "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"[:MAX_CHARS]]
HARD += ["".join(chr(0x61 + (i * 7) % 26) for i in range(n)) for n in range(1, MAX_CHARS + 1)]


def test_char_aware_copies_the_issues_misses_and_every_length(aware):
    assert aware.spell(HARD) == HARD


LETTERS = "".join(ALPHABET_LETTERS.values()) + "ŠšœŒßłŁĳΛόγοςабв東京서울"
TOKEN_PIECES = st.one_of(
    st.sampled_from(list(LETTERS)),
    st.sampled_from(list("0123456789۰۱۲۳٤.,:;!?-'\"()[]/\\@#$%&*+=<>_~^|€£₽₪﷼©®™°№…—«»♯\u05f3\u05f4")),
    st.sampled_from(["😂", "🇺🇦", "👍🏽", "❤\ufe0f", "👨\u200d👩\u200d👧", "\u200c", "\u200d", "1\ufe0f\u20e3"]),
)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(TOKEN_PIECES, min_size=1, max_size=MAX_CHARS).map("".join), min_size=16, max_size=16))
def test_char_aware_output_is_its_input(aware, tokens):
    """Tokens of letters (four scripts, both cases, others), digits, punctuation, symbols and emoji up to the limit
    (cut at MAX_CHARS code points, a ZWJ sequence possibly mid-way) come back as they are."""
    tokens = [t for t in (normalize(t)[:MAX_CHARS] for t in tokens) if t]
    if tokens:
        assert aware.spell(tokens) == tokens


def test_char_aware_keeps_case_and_long_words(aware):
    words = ["strawberry", "Strawberry", "STRAWBERRY", "sTrAwBeRrY", "thoughtlessnesses", "Клубника", "ШЕЛКОВИЦА",
             "תות-שדה", "توت‌فرنگی", "Pneumonoultramicroscopic", "Mississippi", "bookkeeper"]
    assert aware.spell(words) == words


def test_char_aware_spells_every_held_out_bucket(aware):
    for language in LANGUAGES:
        for bucket, words in held_out()[language].items():
            assert _accuracy(aware, words) >= 0.99, (language, bucket)


FREQUENT = {"en": ["the", "and", "people", "The", "time", "world", "new", "house", "water", "good"],
            "ru": ["что", "это", "как", "был", "время", "люди", "Россия", "жизнь", "можно", "дом"],
            "fa": ["این", "برای", "ایران", "کار", "بود", "مردم", "زندگی", "خانه", "آب", "روز"],
            "he": ["של", "את", "זה", "אני", "ישראל", "היום", "אנשים", "בית", "עבודה", "חיים"]}
NONSENSE = ["qzxvbwk", "Zxqvjplm", "brtzqwen", "ыщщзхъ", "Жщцкбуф", "ףךץטזק", "ژژپچگث", "xkcdqzt", "ooqpmwzx",
            "ъъъыыы"]


# Real dictionary words far below the stream's 20 000 per language: cut into pieces it never trained on.
RARE = {"en": ["perspicacious", "thoughtlessnesses", "Quixotic", "obstreperous", "sesquipedalian"],
        "ru": ["блинчиками", "Перпендикулярность", "человеконенавистничество", "злопамятствовать", "воробушек"],
        "fa": ["ناسپاسی‌ها", "بی‌خانمان‌ترین", "دلواپسی‌هایمان", "سرگشتگی", "ناپایداری‌ها"],
        "he": ["והמשוכנעים", "כשהתפרקותם", "ומהמתלבטות", "שהתכתבויותיהן", "בהתמהמהותו"]}


def test_char_blind_spells_frequent_words_it_memorised_and_not_nonsense_or_rare_words(blind):
    for language, words in FREQUENT.items():
        assert _accuracy(blind, words) >= 0.8, language
    assert _accuracy(blind, NONSENSE) <= 0.2
    assert _accuracy(blind, [w for words in RARE.values() for w in words]) <= 0.2


def test_char_blind_tokenizer_is_its_stream_words_whole_and_pieces_for_the_rest(blind):
    tokenizer = blind.tokenizer
    listed = {w.lower() for language in LANGUAGES for w in frequency_list(language)[0]}
    vocabulary = set(tokenizer.get_vocab())
    assert listed <= vocabulary  # every word of the stream is one piece...
    for word in ["the", "people", "время", "ایران", "ישראל", "don't"]:
        assert tokenizer.encode(word).tokens == [word]
    assert tokenizer.encode("people.").tokens == ["people", "."]
    for words in RARE.values():  # ...and a word outside it is cut into pieces
        assert all(len(tokenizer.encode(w.lower()).ids) >= 2 for w in words)
    # Built from wordfreq's lists alone: held-out words outside them are not whole pieces (the exclusion rule).
    outside = {w.lower() for lists in held_out().values() for words in lists.values() for w in words} - listed
    assert not outside & vocabulary - {p for p in vocabulary if len(p) <= 8}
    assert [case_of(w) for w in ["word", "Word", "WORD", "iPhone", "שלום", "U.S.", "42"]] == [0, 1, 2, 3, 0, 2, 0]
    assert blind.source_batch(["Word"]).tolist() == [[[4 + 1, 0, 0, 0], [4 + 4 + tokenizer.token_to_id("word"), 0, 0,
                                                                         0]]]
    size = sum((WEIGHTS_DIR / f"char-blind{suffix}").stat().st_size
               for suffix in (".safetensors", ".json", ".tokenizer.json"))
    assert size <= 20 * 2**20


def test_bench_cli_on_a_cased_outside_list_repeated_flags(tmp_path):
    write_tsv(tmp_path / "A.tsv", OUTSIDE_TOP)
    write_tsv(tmp_path / "B.tsv", OUTSIDE_BOTTOM)
    write_tsv(tmp_path / "C.tsv", ["Дом", "שלום"])
    out = tmp_path / "spell.json"
    completed = subprocess.run(
        [sys.executable, "-m", "models.spelling", "bench", "--lang", "en", "--words", f"top={tmp_path / 'A.tsv'}",
         "--words", f"bottom={tmp_path / 'B.tsv'}", f"other={tmp_path / 'C.tsv'}", "--systems", "char-aware",
         "char-blind", "--json", str(out), "--chart", str(tmp_path / "chart.png")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(out.read_text())
    assert set(report) == {"results", "seconds"}
    rows = {(r["system"], r["language"], r["bucket"]): r for r in report["results"]}
    # Both --words flags count (the second no longer replaces the first); --lang en leaves the ru/he words out.
    assert set(rows) == {(s, "en", b) for s in ("char-aware", "char-blind") for b in ("top", "bottom")}
    for row in rows.values():
        assert set(row) == {"system", "language", "bucket", "n", "accuracy", "cer", "ci95", "cer_ci95"}
    assert rows[("char-aware", "en", "top")]["n"] == len(OUTSIDE_TOP)
    assert rows[("char-aware", "en", "bottom")]["n"] == len(OUTSIDE_BOTTOM)
    assert rows[("char-aware", "en", "top")]["accuracy"] >= 99
    assert rows[("char-aware", "en", "bottom")]["accuracy"] >= 99
    assert rows[("char-blind", "en", "bottom")]["accuracy"] < 99
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"
    bad = subprocess.run([sys.executable, "-m", "models.spelling", "bench", "--systems", "gpt-9"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown system" in bad.stderr


async def test_spell_in_the_chat_shows_tokens_spellings_and_rtl(make_harness, hub):
    harness = await make_harness(hub=hub)
    chat = harness.chat(lang="he")
    calls = await chat.send("/spell שלום")
    reply = [c.text for c in calls if c.name == "sendMessage"][-1]
    assert "gemma-3-270m" in reply and "smollm2-135m-instruct" in reply and "char-aware" in reply
    assert "D7 A9" in reply  # the byte view of ש
    assert "\u2068" in reply  # bidi-isolated pieces
    assert any(c.name == "sendChatAction" for c in calls)
    # Any token is accepted, shown escaped: `<b>` is spelled, not rendered.
    tag = [c.text for c in await harness.chat().send("/spell <b>") if c.name == "sendMessage"][-1]
    assert "&lt;b&gt;" in tag and "<b><</b>" not in tag
    aware_tag = next(line for line in tag.splitlines() if "char-aware" in line)
    assert "✅" in aware_tag
    cased = [c.text for c in await harness.chat().send("/spell Strawberry") if c.name == "sendMessage"][-1]
    aware_line = next(line for line in cased.splitlines() if "char-aware" in line)
    assert "S t r a w b e r r y" in aware_line and "✅" in aware_line
    async with harness.sessionmaker() as session:
        from sqlalchemy import select

        from storage.schema.core import HistoryEntry
        rows = (await session.scalars(select(HistoryEntry).order_by(HistoryEntry.id))).all()
        assert [(r.command, r.status, r.arguments) for r in rows] == [
            ("spell", "ok", "שלום"), ("spell", "ok", "<b>"), ("spell", "ok", "Strawberry")]
        assert set(rows[0].result["correct"]) == {"gemma-3-270m", "smollm2-135m-instruct", "char-aware",
                                                  "char-blind"}
        assert rows[2].result["correct"]["char-aware"] is True


# (A NUL never reaches the handler: the update's text loses it on the way in; parse_word's test covers it.)
REFUSALS = {"two words": "several", "a" * (MAX_CHARS + 1): "too-long", "a\x1bb": "control"}
REASONS = {  # a phrase of each localized reason
    "en": {"several": "One token at a time", "too-long": f"at most {MAX_CHARS}", "nul": "NUL",
           "control": "control characters"},
    "ru": {"several": "по одному слову", "too-long": f"не больше {MAX_CHARS}", "nul": "NUL",
           "control": "управляющие символы"},
    "fa": {"several": "هر بار یک واژه", "too-long": "حداکثر", "nul": "NUL", "control": "کنترلی"},
    "he": {"several": "מילה אחת בכל פעם", "too-long": "לכל היותר", "nul": "NUL", "control": "תווי בקרה"},
}


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_spell_refusals_are_localized(make_harness, hub, lang):
    harness = await make_harness(hub=hub)
    chat = harness.chat(lang=lang)
    for text, code in REFUSALS.items():
        replies = [c.text for c in await chat.send(f"/spell {text}") if c.name == "sendMessage"]
        assert REASONS[lang][code] in replies[-1], (lang, code, replies)
        assert "\x1b" not in replies[-1]
