"""Prompt-test suites: baseline vs perturbation prompts run with one seed, so only the prompt differs."""
import re
from dataclasses import dataclass

from models.leakage.text import detect_script_language

DRAW_TEXT = 'A sign with the word "{word}" written on it.'
# DrawText words from frequent to rare (wordfreq rank), per language.
TEXT_WORDS = {
    "en": ["the", "coffee", "raccoon"],
    "ru": ["дом", "молоко", "воевода"],
    "he": ["שלום", "ספרייה", "בשלווה"],
    "fa": ["سلام", "کتاب", "واقعیش"],
}


@dataclass(frozen=True)
class SuiteItem:
    prompt: str
    label: str
    word: str | None = None  # DrawText items: the word the image must show
    language: str | None = None


def _upside_down(subject: str | None) -> list[SuiteItem]:
    subjects = [subject] if subject else ["a cat sitting on a chair", "a lighthouse on a cliff"]
    return [item for s in subjects
            for item in (SuiteItem(s, "baseline"), SuiteItem(f"{s}, upside down", "upside down"))]


def _hands(subject: str | None) -> list[SuiteItem]:
    if subject:
        return [SuiteItem(subject, "baseline"), SuiteItem(f"{subject}, close-up of both hands", "hands")]
    return [SuiteItem("two people shaking hands", "handshake"),
            SuiteItem("a massage therapist's hands on a client's back", "massage"),
            SuiteItem("a hand holding up exactly three fingers", "three fingers")]


def _counting(subject: str | None) -> list[SuiteItem]:
    thing = subject or "red apples"
    return [SuiteItem(f"exactly {n} {thing} on a white table", f"{n}") for n in (1, 3, 5, 7)]


def _text(subject: str | None) -> list[SuiteItem]:
    if subject:
        word = subject.strip().strip('"')
        return [SuiteItem(DRAW_TEXT.format(word=word), word, word, detect_script_language(word))]
    return [SuiteItem(DRAW_TEXT.format(word=word), f"{language}: {word}", word, language)
            for language, words in TEXT_WORDS.items() for word in words]


SUITES = {"upside-down": _upside_down, "hands": _hands, "counting": _counting, "text": _text}


def suite_items(name: str, subject: str | None = None) -> list[SuiteItem]:
    if name not in SUITES:
        raise KeyError(name)
    return SUITES[name]((subject or "").strip() or None)


def drawn_word(prompt: str) -> str | None:
    match = re.search(r'word "([^"]+)"', prompt)
    return match.group(1) if match else None
