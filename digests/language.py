"""Offline language identification (langdetect, seeded so the same text always gets the same answer), and the check
that a model's summary is written in the reader's language and script (`answered_language`)."""
from collections import Counter

from langdetect import DetectorFactory, LangDetectException, detect_langs

DetectorFactory.seed = 0
SUPPORTED = ("en", "ru", "fa", "he")
SCRIPT_OF_LANGUAGE = {"en": "latin", "ru": "cyrillic", "fa": "arabic", "he": "hebrew"}
# Letters Persian writes and Arabic does not (پ چ ژ گ, and the Persian forms of kaf and yeh): Arabic-script text
# without any of them is not Persian, whatever a statistical detector says about a short sentence.
PERSIAN_LETTERS = frozenset("پچژگکی")
# A summary may keep Latin technical terms (LoRA, RLHF, DPO): this share of its letters must be the reader's script.
SCRIPT_SHARE = {"en": 0.9, "ru": 0.6, "fa": 0.6, "he": 0.6}
DETECTOR_CONFIDENCE = 0.8  # langdetect's probability above which a same-script language other than the reader's counts
DETECTOR_MIN_WORDS = 4  # below this a statistical detector guesses; the script decides alone


def script(char: str) -> str:
    """latin / cyrillic / arabic / hebrew / other, for one letter."""
    if "\u0590" <= char <= "\u05ff" or "\ufb1d" <= char <= "\ufb4f":
        return "hebrew"
    if "\u0600" <= char <= "\u06ff" or "\u0750" <= char <= "\u077f" or "\ufb50" <= char <= "\ufeff":
        return "arabic"
    if "\u0400" <= char <= "\u04ff":
        return "cyrillic"
    if char.isascii() or "\u00c0" <= char <= "\u024f":
        return "latin"
    return "other"


def script_shares(text: str) -> dict[str, float]:
    """The share of the text's letters in each script (empty for a text without letters)."""
    counts = Counter(script(c) for c in text if c.isalpha())
    total = sum(counts.values())
    return {name: count / total for name, count in counts.items()} if total else {}


def detect_language(text: str) -> str:
    """en / ru / fa / he, or 'other'. Hebrew and Persian are told apart by script first: short posts with a
    Latin paper title confuse statistical detectors, scripts do not."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "other"
    shares = script_shares(text)
    for code in ("he", "fa", "ru"):
        if shares.get(SCRIPT_OF_LANGUAGE[code], 0.0) >= 0.3:
            return code
    try:
        best = detect_langs(text)[0]
    except LangDetectException:
        return "other"
    return best.lang if best.lang in SUPPORTED else "other"


def answered_language(text: str, expected: str) -> str:
    """`expected` when `text` is written in that language and its script, else what it looks written in: a
    language code ('en', 'ar', 'uk', …) or 'unknown'. The script decides first (by Unicode ranges; the reader's
    script must carry `SCRIPT_SHARE` of the letters, and Persian needs its own letters); then langdetect, on the
    words of that script only, may still name another language of the same script when it is confident."""
    shares = script_shares(text)
    if not shares:
        return "unknown"
    wanted = SCRIPT_OF_LANGUAGE[expected]
    if shares.get(wanted, 0.0) < SCRIPT_SHARE[expected]:
        dominant = max(shares, key=lambda name: shares[name])
        return _detected(_words_in(text, dominant)) or _SCRIPT_LANGUAGE.get(dominant, "unknown")
    words = _words_in(text, wanted)
    if expected == "fa" and not PERSIAN_LETTERS & set(words):
        return _detected(words) or "ar"
    found = _detected(words) if len(words.split()) >= DETECTOR_MIN_WORDS else None
    return found if found and found != expected else expected


_SCRIPT_LANGUAGE = {"latin": "en", "cyrillic": "ru", "arabic": "fa", "hebrew": "he"}


def _words_in(text: str, name: str) -> str:
    """The words of `text` written mostly in script `name` (technical terms in other scripts left out)."""
    words = [w for w in text.split() if sum(script(c) == name for c in w if c.isalpha()) > len(w) / 2]
    return " ".join(words)


def _detected(text: str) -> str | None:
    """langdetect's language when it is confident, else None."""
    if not text.strip():
        return None
    try:
        best = detect_langs(text)[0]
    except LangDetectException:
        return None
    return str(best.lang) if best.prob >= DETECTOR_CONFIDENCE else None
