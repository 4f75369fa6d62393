"""What `/spell <token>` accepts: any single whitespace-free token of at most MAX_CHARS code points after
normalisation — letters of any script and case, digits, punctuation, symbols, emoji. Refused, each with a reason:
nothing, several tokens, too long, control characters (NUL among them) and lone surrogates."""
import unicodedata

from models.spelling.seq2seq import MAX_CHARS
from models.spelling.words import normalize, script_of

__all__ = ["MAX_CHARS", "SpellInputError", "parse_word"]


class SpellInputError(ValueError):
    """`code` names a localized message: empty, several, too-long, nul, control, surrogate."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


def parse_word(text: str | None, default_language: str = "en") -> tuple[str, str]:
    """(normalized token, language) or SpellInputError. The token keeps the user's case and punctuation
    (`models.spelling.words.normalize`: NFC, Persian yeh/kaf, niqqud and harakat dropped). Its language is the
    script most of its letters are in; a token without letters of the four scripts (`42%`, `😂`) takes
    `default_language`."""
    text = text or ""
    if "\x00" in text:
        raise SpellInputError("nul")
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise SpellInputError("surrogate")
    text = text.strip()
    if not text:
        raise SpellInputError("empty")
    if len(text.split()) > 1:
        raise SpellInputError("several")
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise SpellInputError("control")
    word = normalize(text)
    if not word:  # only marks or ZWNJ, which normalisation drops
        raise SpellInputError("empty")
    if len(word) > MAX_CHARS:  # counted after normalisation: vowel marks are not characters to spell
        raise SpellInputError("too-long")
    return word, script_of(word) or default_language
