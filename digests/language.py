"""Offline language identification (langdetect, seeded so the same text always gets the same answer)."""
from langdetect import DetectorFactory, LangDetectException, detect_langs

DetectorFactory.seed = 0
SUPPORTED = ("en", "ru", "fa", "he")


def detect_language(text: str) -> str:
    """en / ru / fa / he, or 'other'. Hebrew and Persian are told apart by script first: short posts with a
    Latin paper title confuse statistical detectors, scripts do not."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "other"
    hebrew = sum("\u0590" <= c <= "\u05ff" for c in letters)
    arabic = sum("\u0600" <= c <= "\u06ff" or "\ufb50" <= c <= "\ufeff" for c in letters)
    cyrillic = sum("\u0400" <= c <= "\u04ff" for c in letters)
    for code, count in (("he", hebrew), ("fa", arabic), ("ru", cyrillic)):
        if count >= 0.3 * len(letters):
            return code
    try:
        best = detect_langs(text)[0]
    except LangDetectException:
        return "other"
    return best.lang if best.lang in SUPPORTED else "other"
