"""Spelling: word lists and splits, metrics, input parsing, the shipped trained models (char-aware must beat
char-blind on held-out words, as in Liu et al.), the benchmark CLI contract, and /spell in the chat."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.spelling.metrics import SpellingResult, cer, edit_distance
from models.spelling.parse import SpellInputError, parse_word
from models.spelling.seq2seq import Speller
from models.spelling.words import (BUCKETS, LANGUAGES, SCRIPTS, ZWNJ, bucket_of, buckets, make_split, normalize,
                                   ranked_words, read_tsv, spelled, unspell, write_tsv)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tokenizer():
    from models.spelling.train import gemma_tokenizer_and_embeddings

    return gemma_tokenizer_and_embeddings(with_embeddings=False)[0]


@pytest.mark.parametrize("language", LANGUAGES)
def test_word_lists_are_script_pure_bucketed_and_split_disjointly(language):
    words = ranked_words(language)
    assert len(words) == 20_000 and all(SCRIPTS[language].fullmatch(w) for w in words)
    parts = buckets(language)
    assert list(parts) == [name for name, _, _ in BUCKETS]
    assert len(parts["top1"]) == 200 and len(parts["bottom50"]) == 10_000
    split = make_split()
    test_words = {w for ws in split.test[language].values() for w in ws}
    train_words = {w for w, lang in split.train if lang == language}
    assert test_words and train_words and not test_words & train_words
    assert bucket_of(parts["top1"][0], language) == "top1" and bucket_of("zzzzqqq", language) == "rare"


def test_metrics_and_wikispell_format(tmp_path):
    assert edit_distance("kitten", "sitting") == 3 and cer("strawbery", "strawberry") == pytest.approx(0.1)
    assert spelled("кот") == "к о т" and unspell("к о т") == "кот"
    assert spelled(f"می{ZWNJ}خواهم").count(" ") == 7  # ZWNJ is a character of its own
    result = SpellingResult("m", "word", "wrod")
    assert not result.correct and [ok for _, ok in result.marks()] == [True, False, False, True]
    path = tmp_path / "top1.tsv"
    write_tsv(path, ["cat", "שלום"])
    assert read_tsv(path) == [("cat", "cat"), ("שלום", "שלום")]


@pytest.mark.parametrize("text, code", [
    ("", "empty"), ("   ", "empty"), ("two words", "several"), ("a" * 31, "too-long"), ("123", "no-letters"),
    ("<b>", "symbols"), ("don't", "symbols"), ("catкот", "mixed-scripts"), ("straße", "language"),
])
def test_bad_words_are_named(text, code):
    with pytest.raises(SpellInputError) as error:
        parse_word(text)
    assert error.value.code == code


def test_words_are_normalized():
    assert parse_word("Strawberry") == ("strawberry", "en")
    assert parse_word("ЁЖИК") == ("ёжик", "ru")
    with pytest.raises(SpellInputError):
        parse_word("cafe\u0301")  # NFC makes é, which is not a letter of the English list's alphabet
    assert parse_word("كتاب")[0] == "کتاب"  # Arabic kaf → Persian keheh
    assert parse_word(f"{ZWNJ}می{ZWNJ}خواهم{ZWNJ}") == (f"می{ZWNJ}خواهم", "fa")
    assert parse_word("שלום") == ("שלום", "he")
    assert parse_word("שָׁלוֹם") == ("שלום", "he")  # niqqud dropped


def test_shipped_char_aware_model_beats_char_blind_on_held_out_words(tokenizer):
    split = make_split()
    aware, blind = Speller.load("char-aware"), Speller.load("char-blind")
    for language in LANGUAGES:
        words = [w for bucket in ("10-20", "bottom50") for w in split.test[language][bucket][:25]]
        aware_acc = sum(p == w for p, w in zip(aware.spell(words, tokenizer), words)) / len(words)
        blind_acc = sum(p == w for p, w in zip(blind.spell(words, tokenizer), words)) / len(words)
        assert aware_acc >= 0.8, (language, aware_acc)
        assert aware_acc > blind_acc, (language, aware_acc, blind_acc)


def test_bench_cli_reads_wikispell_tsv_and_writes_the_json_contract(tmp_path):
    write_tsv(tmp_path / "frequent.tsv", ["house", "water", "дом"])
    write_tsv(tmp_path / "rare.tsv", ["quixotic", "שלום"])
    out = tmp_path / "spell.json"
    completed = subprocess.run(
        [sys.executable, "-m", "models.spelling", "bench", "--words", f"frequent={tmp_path / 'frequent.tsv'}",
         f"rare={tmp_path / 'rare.tsv'}", "--systems", "char-aware", "char-blind", "--json", str(out),
         "--chart", str(tmp_path / "chart.png")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(out.read_text())
    assert set(report) == {"results", "seconds"}
    rows = {(r["system"], r["language"], r["bucket"]): r for r in report["results"]}
    assert set(rows) == {(s, lang, b) for s in ("char-aware", "char-blind")
                         for lang, b in (("en", "frequent"), ("ru", "frequent"), ("en", "rare"), ("he", "rare"))}
    for row in rows.values():
        assert set(row) == {"system", "language", "bucket", "n", "accuracy", "cer"}
        assert 0 <= row["accuracy"] <= 100 and row["cer"] >= 0
    assert rows[("char-aware", "en", "frequent")]["n"] == 2
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
    english = [c.text for c in await harness.chat().send("/spell <b>") if c.name == "sendMessage"][-1]
    assert "letters only" in english.lower() and "<b>" not in english
    async with harness.sessionmaker() as session:
        from sqlalchemy import select

        from storage.schema.core import HistoryEntry
        rows = (await session.scalars(select(HistoryEntry).order_by(HistoryEntry.id))).all()
        assert [(r.command, r.status) for r in rows] == [("spell", "ok"), ("spell", "rejected")]
        assert set(rows[0].result["correct"]) == {"gemma-3-270m", "smollm2-135m-instruct", "char-aware",
                                                  "char-blind"}
