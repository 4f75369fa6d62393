"""What `/spell <word>` accepts: one word of one of the four scripts — letters in any case, with digits, hyphens
and apostrophes inside — at most 30 characters."""
import unicodedata

from models.spelling.seq2seq import MAX_CHARS
from models.spelling.words import NEUTRAL, ZWNJ, normalize, script_of

__all__ = ["MAX_CHARS", "SpellInputError", "parse_word"]


class SpellInputError(ValueError):
    """`code` names a localized message: empty, several, too-long, no-letters, symbols, mixed-scripts,
    language."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


def _script(char: str) -> str:
    if char == ZWNJ or char in NEUTRAL:
        return "neutral"
    name = unicodedata.name(char, "")
    for prefix in ("LATIN", "CYRILLIC", "HEBREW", "ARABIC"):
        if name.startswith(prefix):
            return prefix
    return "other"


def parse_word(text: str | None) -> tuple[str, str]:
    """(normalized word, language) or SpellInputError. The word keeps the user's case (`models.spelling.words.
    normalize`: NFC, Persian yeh/kaf, niqqud and harakat dropped)."""
    text = (text or "").strip()
    if not text:
        raise SpellInputError("empty")
    if len(text.split()) > 1:
        raise SpellInputError("several")
    word = normalize(text)
    if len(word) > MAX_CHARS:  # counted after normalisation: vowel marks are not characters to spell
        raise SpellInputError("too-long")
    if not any(char.isalpha() for char in word):
        raise SpellInputError("no-letters")
    if any(not char.isalpha() and char != ZWNJ and char not in NEUTRAL for char in word):
        raise SpellInputError("symbols")
    scripts = {_script(char) for char in word} - {"neutral"}
    if len(scripts) > 1:
        raise SpellInputError("mixed-scripts")
    language = script_of(word)
    if language is None:
        raise SpellInputError("language")
    return word, language
