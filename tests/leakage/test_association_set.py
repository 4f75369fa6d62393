"""The sentence-level association set: its shape and its rules (no related sentence names its concept), and the
reader's handling of outside files (a bad line is skipped with its line number, or rejected under strict)."""
import json
import re
from collections import Counter

import pytest

from models.leakage import association

LANGUAGES = ("en", "ru", "fa", "he")


def test_set_has_four_languages_of_at_least_60_unique_items():
    data = association.read_association(association.DATA, strict=True)  # strict: not one bad line
    counts = Counter(item.lang for item in data.items)
    assert set(counts) == set(LANGUAGES) and min(counts.values()) >= 60
    assert len({item.id for item in data.items}) == len(data.items)


def test_no_related_sentence_names_its_concept():
    lines = association.DATA.read_text(encoding="utf-8").splitlines()
    for record in map(json.loads, lines):
        concept, related = record["concept"].casefold(), record["related"].casefold()
        assert concept not in related, record["id"]
        if record["lang"] == "ru" and len(concept) >= 6:  # an inflected form keeps the stem
            assert not re.search(r"\b" + re.escape(concept[:-2]), related), record["id"]
        assert record["related"] != record["unrelated"]
        ratio = len(record["related"].split()) / len(record["unrelated"].split())
        assert 0.6 <= ratio <= 1.6, record["id"]  # the same shape and length


def test_scripts_are_written_natively():
    for item in association.read_association(association.DATA).items:
        text = item.concept + item.related + item.unrelated
        if item.lang == "fa":
            assert not re.search("[\u064a\u0643]", text), item.id  # Persian ی and ک, not the Arabic letters
            assert re.search("[\u0600-\u06ff]", item.related)
        if item.lang == "he":
            assert not re.search("[\u0591-\u05c7]", text), item.id  # no niqqud or cantillation
            assert re.search("[\u05d0-\u05ea]", item.related)
        if item.lang == "ru":
            assert re.search("[а-яё]", item.related.lower())
    persian = [i.related for i in association.read_association(association.DATA).items if i.lang == "fa"]
    assert sum("\u200c" in text for text in persian) >= 30  # می‌… and …‌ها are joined with the ZWNJ


def test_outside_file_bad_lines_are_skipped_with_their_number_or_rejected(tmp_path):
    path = tmp_path / "outside.jsonl"
    rows = [{"id": "a", "lang": "EN", "concept": "rain", "related": "He opened his umbrella.",
             "unrelated": "He opened his notebook.", "source": "ignored"},
            "{not json",
            {"id": "b", "lang": "en", "concept": "rain", "related": "Rain fell.", "unrelated": "Dust fell."},
            {"id": "a", "lang": "en", "concept": "x", "related": "y z.", "unrelated": "w v."},
            {"id": "c", "lang": "en", "concept": "sun", "related": "", "unrelated": "w v."}]
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    data = association.read_association(path)
    assert [item.id for item in data.items] == ["a"] and data.items[0].lang == "en"
    assert [line.split(": ", 1)[0] for line in data.skipped] == [f"{path}:{n}" for n in (2, 3, 4, 5)]
    assert "not valid JSON" in data.skipped[0] and "names the concept" in data.skipped[1]
    assert "duplicate id" in data.skipped[2] and "related" in data.skipped[3]
    with pytest.raises(association.AssociationError, match=r"4 bad line\(s\)"):
        association.read_association(path, strict=True)
    path.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(association.AssociationError, match="no valid item"):
        association.read_association(path)


def test_wilson_interval():
    low, high = association.wilson(53, 64)
    assert low == pytest.approx(0.7179, abs=1e-4) and high == pytest.approx(0.9012, abs=1e-4)  # by hand
    assert association.wilson(64, 64)[1] == 1.0 and association.wilson(0, 64)[0] == 0.0
