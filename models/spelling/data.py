"""Training data that teaches copying, not memorising: random strings of each script next to real words, in every
case pattern, with digits, hyphens and apostrophes inside, up to 30 characters. The real words come from `wordfreq`'s
top ranks; no word of the held-out evaluation lists (`models/spelling/eval/`) is ever drawn, in any case."""
import random
from collections.abc import Iterator
from functools import cache

from models.spelling.seq2seq import MAX_CHARS
from models.spelling.words import DIGITS, LANGUAGES, LATIN1, LETTERS, ZWNJ, ranked_words

PERSIAN_DIGITS = DIGITS[10:20]
LOWER = {
    "en": "abcdefghijklmnopqrstuvwxyz",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    "he": LETTERS["he"],
    "fa": LETTERS["fa"].replace(ZWNJ, ""),
}
# ÿ is left out: its capital Ÿ lies outside Latin-1 and the alphabet.
LATIN1_LOWER = "".join(c for c in LATIN1 if c.islower() and c != "ÿ")
CASED = ("en", "ru")


def recase(word: str, rng: random.Random) -> str:
    """lower, Title, UPPER or mixed case (scripts without case are left alone)."""
    roll = rng.random()
    if roll < 0.4:
        return word.lower()
    if roll < 0.7:
        return word[:1].upper() + word[1:].lower()
    if roll < 0.85:
        return word.upper()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in word)


def _joiner(rng: random.Random, language: str) -> str:
    roll = rng.random()
    if roll < 0.45:
        return "-"
    if roll < 0.75:
        return "'"
    if roll < 0.85:
        return "\u2019"
    if language == "he":
        return rng.choice("\u05be\u05f3\u05f4")
    return "-"


def _digits(rng: random.Random, language: str, count: int) -> str:
    pool = PERSIAN_DIGITS if language == "fa" and rng.random() < 0.7 else DIGITS[:10]
    return "".join(rng.choice(pool) for _ in range(count))


def random_string(rng: random.Random, language: str) -> str:
    """A random string of the language's letters, 1–30 characters, sometimes with runs of a repeated letter
    (strawberry's rr), digits, hyphens and apostrophes inside, and in a random case pattern."""
    # Lengths: a third uniform over 1–30 (long words must be seen), the rest like real words (3–14).
    length = rng.randint(1, MAX_CHARS) if rng.random() < 0.35 else rng.randint(3, 14)
    letters = LOWER[language]
    if language == "en" and rng.random() < 0.15:
        letters += LATIN1_LOWER  # café, Zoë
    chars: list[str] = []
    while len(chars) < length:
        char = rng.choice(letters)
        chars.extend(char * (rng.choice((2, 2, 3)) if rng.random() < 0.08 else 1))
    if language == "fa" and rng.random() < 0.3 and length > 2:
        chars[rng.randint(1, length - 2)] = ZWNJ
    if rng.random() < 0.3 and length > 2:
        for _ in range(rng.randint(1, 3)):
            inner = rng.randint(1, length - 2)
            if rng.random() < 0.5:
                chars[inner] = _joiner(rng, language)
            else:
                chars[inner] = _digits(rng, language, 1)
    if rng.random() < 0.05:
        chars = list(_digits(rng, language, rng.randint(1, 4))) + chars  # "3D", "۲۰۲۴ساله"
    word = "".join(chars)[:MAX_CHARS]
    # No ZWNJ or joiner doubled or at either end, as real words never have them (the normaliser strips ZWNJ).
    while word and (word[0] in ZWNJ or word[-1] in ZWNJ):
        word = word.strip(ZWNJ)
    if not any(c.isalpha() for c in word):
        word += rng.choice(LOWER[language])
    return recase(word, rng) if language in CASED else word


@cache
def training_words(language: str) -> tuple[str, ...]:
    """wordfreq's top words (lower case, script-pure) minus every word of the evaluation lists (case-folded)."""
    from models.spelling.evalsets import held_out_folded

    held = held_out_folded()
    return tuple(w for w in ranked_words(language) if w.casefold() not in held)


def real_word(rng: random.Random, language: str) -> str:
    """A training word, frequency-weighted half the time (WikiSpell mixes uniform and frequency-weighted draws), in a
    random case, sometimes joined to another by a hyphen or given a digit or apostrophe."""
    words = training_words(language)
    weighted = rng.random() < 0.5

    def pick() -> str:
        if weighted:
            return words[min(int(rng.paretovariate(0.6)) - 1, len(words) - 1)]
        return rng.choice(words)

    word = pick()
    roll = rng.random()
    if roll < 0.12:
        word = f"{word}-{pick()}"
    elif roll < 0.15 and language == "en":
        word = rng.choice((f"{word}'s", f"{word}s'", f"o'{word}", f"{word}n't"))
    elif roll < 0.17:
        word = f"{word}{_digits(rng, language, rng.randint(1, 2))}"
    word = word[:MAX_CHARS].strip("-")
    return recase(word, rng) if language in CASED else word


def examples(seed: int, count: int, random_share: float = 0.5) -> Iterator[str]:
    """`count` training strings, languages in turn; the same seed gives the same strings."""
    from models.spelling.evalsets import held_out_folded

    rng = random.Random(seed)
    held = held_out_folded()
    produced = 0
    while produced < count:
        language = LANGUAGES[produced % len(LANGUAGES)]
        word = random_string(rng, language) if rng.random() < random_share else real_word(rng, language)
        if not word or word.casefold() in held:
            continue
        produced += 1
        yield word
