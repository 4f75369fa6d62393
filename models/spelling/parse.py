"""What `/spell <word>` accepts: one word, letters of one of the four scripts, at most 30 characters."""
import unicodedata

from models.spelling.words import ZWNJ, normalize, script_of

MAX_CHARS = 30


class SpellInputError(ValueError):
    """`code` names a localized message: empty, several, too-long, no-letters, symbols, mixed-scripts,
    language."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


def _script(char: str) -> str:
    if char == ZWNJ:
        return "zwnj"
    name = unicodedata.name(char, "")
    for prefix in ("LATIN", "CYRILLIC", "HEBREW", "ARABIC"):
        if name.startswith(prefix):
            return prefix
    return "other"


def parse_word(text: str | None) -> tuple[str, str]:
    """(normalized word, language) or SpellInputError."""
    text = (text or "").strip()
    if not text:
        raise SpellInputError("empty")
    if len(text.split()) > 1:
        raise SpellInputError("several")
    if len(text) > MAX_CHARS:
        raise SpellInputError("too-long")
    # Hebrew niqqud and Arabic-script harakat are vowel marks, not letters: the word lists carry none.
    word = "".join(c for c in normalize(text).lower() if unicodedata.category(c) != "Mn" or c == ZWNJ)
    word = unicodedata.normalize("NFC", word)
    letters = [char for char in word if char.isalpha()]
    if not letters:
        raise SpellInputError("no-letters")
    if any(not char.isalpha() and char != ZWNJ for char in word):
        raise SpellInputError("symbols")
    scripts = {_script(char) for char in word} - {"zwnj"}
    if len(scripts) > 1:
        raise SpellInputError("mixed-scripts")
    language = script_of(word)
    if language is None:
        raise SpellInputError("language")
    return word, language
