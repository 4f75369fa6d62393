"""The two training streams. `char-aware` copies: random strings of any characters (four scripts in every case,
punctuation, symbols, digits, other alphabets, emoji sequences) up to MAX_CHARS code points, none of them a word
wordfreq knows, so it never sees a real word, let alone a held-out one. `char-blind` memorises: real words drawn by
wordfreq frequency (raised to FREQUENCY_EXPONENT) in their case variants, as a subword model meets them in text."""
import bisect
import itertools
import random
from collections.abc import Iterator
from functools import cache

from models.spelling.seq2seq import MAX_CHARS
from models.spelling.words import DIGITS, LANGUAGES, LETTERS, ZWNJ, normalize

PERSIAN_DIGITS = DIGITS[10:20]
LOWER = {
    "en": "abcdefghijklmnopqrstuvwxyz",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    "he": LETTERS["he"],
    "fa": LETTERS["fa"].replace(ZWNJ, ""),
}
CASED = ("en", "ru")
ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
SYMBOLS = ("€£¥₽₪﷼₹¢©®™°§¶•…–—«»„“”‘’‹›±×÷≈≠≤≥∞√∑∆µ♯♭♮†‡‰′″№℃℉½¼¾²³¹ªº¿¡"
           "\u05be\u05f3\u05f4\u060c\u061b\u061f\u066a\u066b\u066c\u06d4")
LATIN_EXTRA = "".join(chr(c) for c in range(0xC0, 0x250) if chr(c).isalpha()) + "ﬁﬂﬀﬃ"
OTHER_SCRIPTS = [(0x391, 0x3C9), (0x531, 0x587), (0x10D0, 0x10FA), (0x905, 0x939), (0x4E00, 0x9FFF),
                 (0xAC00, 0xD7A3), (0xE01, 0xE30), (0x3041, 0x30FA), (0x0621, 0x064A), (0x0400, 0x04FF)]
EMOJI_RANGES = [(0x1F300, 0x1F5FF), (0x1F600, 0x1F64F), (0x1F680, 0x1F6FF), (0x1F900, 0x1F9FF), (0x2600, 0x26FF),
                (0x2700, 0x27BF)]
SKIN_TONES = [chr(c) for c in range(0x1F3FB, 0x1F400)]
ZWJ, VS16, KEYCAP = "\u200d", "\ufe0f", "\u20e3"


def _code_point(rng: random.Random, astral: float = 0.2) -> str:
    """Any code point that is not a control, a surrogate or whitespace; `astral` of them past the BMP."""
    while True:
        c = rng.randint(0x10000, 0x10FFFF) if rng.random() < astral else rng.randint(0xA1, 0xFFFD)
        char = chr(c)
        if not (0xD800 <= c <= 0xDFFF) and not char.isspace() and not (0x7F <= c < 0xA0) and c not in (0xFEFF,):
            return char


def _emoji(rng: random.Random) -> str:
    """One emoji as written: single, with a skin tone or VS16, a flag (two regional indicators), a keycap or a ZWJ
    sequence."""
    def base() -> str:
        low, high = rng.choice(EMOJI_RANGES)
        return chr(rng.randint(low, high))

    roll = rng.random()
    if roll < 0.4:
        return base()
    if roll < 0.55:
        return base() + rng.choice(SKIN_TONES)
    if roll < 0.65:
        return base() + VS16
    if roll < 0.8:
        return chr(0x1F1E6 + rng.randrange(26)) + chr(0x1F1E6 + rng.randrange(26))
    if roll < 0.85:
        return rng.choice("0123456789#*") + VS16 + KEYCAP
    return ZWJ.join(base() + (VS16 if rng.random() < 0.2 else "") for _ in range(rng.randint(2, 4)))


def _unit(rng: random.Random, language: str) -> str:
    """One character (or emoji sequence) for a random string mostly of `language`'s letters."""
    roll = rng.random()
    if roll < 0.5:
        char = rng.choice(LOWER[language])
        return char.upper() if language in CASED and rng.random() < 0.3 else char
    if roll < 0.58:
        return rng.choice(PERSIAN_DIGITS if language == "fa" and rng.random() < 0.5 else "0123456789")
    if roll < 0.7:
        return rng.choice(ASCII_PUNCT)
    if roll < 0.76:
        return rng.choice(SYMBOLS)
    if roll < 0.82:
        return rng.choice(LATIN_EXTRA)
    if roll < 0.88:
        low, high = rng.choice(OTHER_SCRIPTS)
        return chr(rng.randint(low, high))
    if roll < 0.94:
        return _emoji(rng)
    return _code_point(rng) if rng.random() < 0.8 else rng.choice((ZWNJ, ZWJ, VS16, "\u0301", "\u05b8", "\u064e"))


def random_string(rng: random.Random, language: str) -> str:
    """1–MAX_CHARS code points: half of them uniform in length (long strings must be seen as often as short ones),
    some runs of a repeated character or a repeated piece (strawberry's rr, `abab…`), some letters with
    punctuation only at an end (`Inc.`, `.com`, `+ve`)."""
    length = rng.randint(1, MAX_CHARS) if rng.random() < 0.5 else rng.randint(1, 16)
    roll = rng.random()
    if roll < 0.06:
        piece = "".join(_unit(rng, language) for _ in range(rng.randint(1, 3)))
        text = piece * (length // max(1, len(piece)) + 1)
    elif roll < 0.3:
        core = "".join(rng.choice(LOWER[language]) for _ in range(length))
        core = core.title() if language in CASED and rng.random() < 0.4 else core
        text = rng.choice(("", "", ".", "+", "#", "@", "$", "(")) + core + \
            rng.choice(("", ".", ",", "!", "?", "%", ".com", "**", ")", "'s", "…", "™"))
    else:
        text = ""
        while len(text) < length:
            text += _unit(rng, language)
    return text[:MAX_CHARS]


@cache
def known_words() -> frozenset[str]:
    """Every token wordfreq lists in the four languages, case-folded: char-aware's stream holds none of them."""
    from wordfreq import top_n_list

    return frozenset(w.casefold() for language in LANGUAGES for w in top_n_list(language, 300_000))


def hard_string(rng: random.Random, language: str) -> str:
    """16–MAX_CHARS code points, half of them any code point (half of those outside the BMP, 4 UTF-8 bytes each):
    the long, dense strings the first phase sees least."""
    length = rng.randint(16, MAX_CHARS)
    text = ""
    while len(text) < length:
        text += _code_point(rng, 0.5) if rng.random() < 0.5 else _unit(rng, language)
    return text[:MAX_CHARS]


def aware_examples(seed: int, count: int, hard: bool = False) -> Iterator[str]:
    """`count` strings for char-aware, languages in turn; the same seed gives the same strings. `hard`: only
    hard_string (the second, short phase of training)."""
    from models.spelling.evalsets import held_out_folded

    rng = random.Random(seed)
    known, held = known_words(), held_out_folded()
    produced = 0
    make = hard_string if hard else random_string
    while produced < count:
        word = make(rng, LANGUAGES[produced % len(LANGUAGES)])
        if not word or word.casefold() in known or word.casefold() in held:
            continue
        produced += 1
        yield word


# char-blind's stream: P(word) ∝ frequency ** FREQUENCY_EXPONENT over each language's VOCABULARY most frequent
# tokens. An exponent below 1 flattens Zipf's law so that the top few thousand words of each language are each seen
# dozens of times while the last listed ones (Zipf ≈ 3.3–3.7) are seen about ten times and rarer ones never: each
# listed word is one piece of char-blind's tokenizer, so 20 000 a language keep its table under 20 MB.
FREQUENCY_EXPONENT = 0.5
VOCABULARY = 20_000
# Case variants of a word as text shows it: mostly lower, Title at a sentence start or in a name, some UPPER.
CASES = ((0.6, str.lower), (0.95, str.title), (1.0, str.upper))


@cache
def frequency_list(language: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """(words, cumulative weights): wordfreq's most frequent tokens as it lists them (words, `don't`, `u.s`,
    numbers), normalised, with their sampling weights."""
    from wordfreq import top_n_list, word_frequency

    words = [w for w in dict.fromkeys(normalize(w) for w in top_n_list(language, VOCABULARY))
             if w and len(w) <= MAX_CHARS and not any(c.isspace() for c in w)]
    weights = [word_frequency(w.replace(ZWNJ, " "), language) ** FREQUENCY_EXPONENT for w in words]
    return tuple(words), tuple(itertools.accumulate(weights))


def natural_case(word: str, rng: random.Random, language: str) -> str:
    if language not in CASED:
        return word
    roll = rng.random()
    for share, change in CASES:
        if roll < share:
            return change(word) if change is not str.title else word[:1].upper() + word[1:]
    return word


def blind_examples(seed: int, count: int) -> Iterator[str]:
    """`count` real words for char-blind, languages in turn, each drawn by frequency ** FREQUENCY_EXPONENT, in a
    natural case variant, sometimes ending a sentence (`word.`)."""
    rng = random.Random(seed)
    tables = {language: frequency_list(language) for language in LANGUAGES}
    for produced in range(count):
        language = LANGUAGES[produced % len(LANGUAGES)]
        words, cumulative = tables[language]
        word = words[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
        word = natural_case(word, rng, language)
        yield word + "." if rng.random() < 0.03 and len(word) < MAX_CHARS else word


def examples(kind: str, seed: int, count: int, hard: bool = False) -> Iterator[str]:
    """The stream a model of `kind` ("bytes" = char-aware, "tokens" = char-blind) trains on."""
    return aware_examples(seed, count, hard) if kind == "bytes" else blind_examples(seed, count)
