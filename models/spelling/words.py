"""Words: the four scripts, the one normalisation rule, wordfreq's ranked lists and frequency bands, WikiSpell TSV."""
import re
import unicodedata
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "ru", "fa", "he")
ZWNJ = "\u200c"
# Letters of each language's script only (Persian keeps the zero-width non-joiner inside words: "می‌خواهم").
SCRIPTS = {
    "en": re.compile(r"[a-z]+"),
    "ru": re.compile(r"[а-яё]+"),
    "he": re.compile(r"[\u05d0-\u05ea]+"),
    "fa": re.compile(r"[\u0621-\u063a\u0641-\u064a\u067e\u0686\u0698\u06a9\u06af\u06cc\u06c0\u200c]+"),
}
# (name, start fraction, end fraction) of the ranked list.
BUCKETS = (("top1", 0.0, 0.01), ("1-10", 0.01, 0.10), ("10-20", 0.10, 0.20), ("20-30", 0.20, 0.30),
           ("bottom50", 0.50, 1.0))
LIST_SIZE = 20_000


# What a word may contain besides its script's letters (both cases): digits (ASCII, Persian, Arabic-Indic), hyphens
# (and the Hebrew maqaf) and apostrophes (ASCII, typographic, and the Hebrew geresh/gershayim). They belong to no
# language, so a word's language is told by its letters alone.
DIGITS = "0123456789" + "".join(map(chr, range(0x06F0, 0x06FA))) + "".join(map(chr, range(0x0660, 0x066A)))
JOINERS = "-\u05be'\u2019\u05f3\u05f4"
NEUTRAL = DIGITS + JOINERS
# Each language's letters in both cases. English takes the Latin-1 letters too (café, naïve, Zoë, Brontë), as
# English text carries them in names and loanwords.
LATIN1 = "".join(chr(c) for c in range(0xC0, 0x100) if chr(c).isalpha())
LETTERS = {
    "en": "".join(map(chr, range(0x61, 0x7B))) + "".join(map(chr, range(0x41, 0x5B))) + LATIN1,
    "ru": "".join(map(chr, range(0x430, 0x450))) + "ё" + "".join(map(chr, range(0x410, 0x430))) + "Ё",
    "he": "".join(map(chr, range(0x05D0, 0x05EB))),
    "fa": "".join(map(chr, [*range(0x0621, 0x063B), *range(0x0641, 0x064B), 0x067E, 0x0686, 0x0698, 0x06A9, 0x06AF,
                           0x06CC, 0x06C0])) + ZWNJ,
}
# Normalised input never holds these: Arabic yeh/kaf become the Persian letters, and "ي"/"ك" drop out of the alphabet.
LETTERS["fa"] = LETTERS["fa"].replace("\u064a", "").replace("\u0643", "")
WORD_PATTERNS = {language: re.compile(f"[{re.escape(letters + NEUTRAL)}]*[{re.escape(letters)}]"
                                      f"[{re.escape(letters + NEUTRAL)}]*")
                 for language, letters in LETTERS.items()}
# The output alphabet of both trained spellers: every character a word may hold, in a fixed order.
ALPHABET: tuple[str, ...] = tuple(dict.fromkeys("".join(LETTERS.values()) + NEUTRAL))
TATWEEL = "\u0640"


def _vowel_mark(char: str) -> bool:
    """Hebrew niqqud/cantillation and Arabic harakat: combining marks of those two blocks only (an emoji's variation
    selector or a Latin combining accent is a character to copy)."""
    code = ord(char)
    return unicodedata.category(char) == "Mn" and (0x0591 <= code <= 0x05C7 or 0x0610 <= code <= 0x06ED
                                                   or 0x08D3 <= code <= 0x08FF)


def normalize(word: str) -> str:
    """The one normalisation rule for words (lists, /spell input, bench files): NFC; Persian: Arabic yeh/kaf →
    Persian forms, no ZWNJ at the ends, no tatweel; Hebrew niqqud and Arabic harakat dropped — they are vowel
    signs, not letters. Everything else is kept as typed, case included: `Strawberry` is spelled `S t r a w b e r r
    y`, `e.g.` keeps its dots and `❤️` its variation selector."""
    word = unicodedata.normalize("NFC", word.strip())
    word = word.replace("\u064a", "\u06cc").replace("\u0643", "\u06a9").replace(TATWEEL, "")
    word = "".join(c for c in word if not _vowel_mark(c))
    return unicodedata.normalize("NFC", word).strip(ZWNJ)


SCRIPT_LANGUAGE = {"LATIN": "en", "CYRILLIC": "ru", "HEBREW": "he", "ARABIC": "fa"}


def letter_language(char: str) -> str | None:
    """The language whose script a letter belongs to (Latin → en, Cyrillic → ru, Hebrew → he, Arabic → fa)."""
    if not char.isalpha():
        return None
    return SCRIPT_LANGUAGE.get(unicodedata.name(char, "").split(" ")[0])


def script_of(word: str) -> str | None:
    """The language most of the word's letters are written in (`e.g.` → en, `т.е.` → ru, `iPhone-ом` → en), or
    None when it has no letter of the four scripts (`42`, `€`, `😂`, `λόγος`)."""
    counts: dict[str, int] = {}
    for char in word:
        language = letter_language(char)
        if language:
            counts[language] = counts.get(language, 0) + 1
    return max(counts, key=lambda language: counts[language]) if counts else None


@cache
def ranked_words(language: str, size: int = LIST_SIZE) -> tuple[str, ...]:
    from wordfreq import top_n_list

    seen, words = set(), []
    for raw in top_n_list(language, size * 2):
        word = normalize(raw)
        if len(word.replace(ZWNJ, "")) < 2 or word in seen or not SCRIPTS[language].fullmatch(word):
            continue
        seen.add(word)
        words.append(word)
        if len(words) == size:
            break
    return tuple(words)


def buckets(language: str) -> dict[str, list[str]]:
    words = ranked_words(language)
    return {name: list(words[int(start * len(words)):int(end * len(words))]) for name, start, end in BUCKETS}


def bucket_of(word: str, language: str) -> str:
    words = ranked_words(language)
    try:
        rank = words.index(normalize(word).lower())  # the lists are lower-case; the band of "Paris" is "paris"
    except ValueError:
        return "rare"
    fraction = rank / len(words)
    for name, start, end in BUCKETS:
        if start <= fraction < end:
            return name
    return "30-50"


def spelled(word: str) -> str:
    """WikiSpell's target format: the letters separated by spaces (a ZWNJ stays a character of its own)."""
    return " ".join(word)


def unspell(text: str) -> str:
    return "".join(text.split(" ")).strip()


def read_tsv(path: str | Path) -> list[tuple[str, str]]:
    """WikiSpell TSV: `word<TAB>w o r d` per line; returns (word, target word)."""
    pairs = []
    # Lines end at "\n" only: str.splitlines would also cut at U+2028, U+0085 and others a token may hold.
    for line in Path(path).read_text(encoding="utf-8").split("\n"):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        word, _, target = line.partition("\t")
        word = normalize(word)
        pairs.append((word, unspell(normalize(target)) if target else word))
    return pairs


def write_tsv(path: str | Path, words: list[str]) -> None:
    Path(path).write_text("".join(f"{w}\t{spelled(w)}\n" for w in words), encoding="utf-8")
