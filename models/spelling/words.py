"""WikiSpell-style word lists from wordfreq: script-pure words, frequency buckets, disjoint train/test splits."""
import random
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
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


def normalize(word: str) -> str:
    word = unicodedata.normalize("NFC", word.strip())
    # Persian: Arabic yeh/kaf → Persian forms, no ZWNJ at the ends.
    word = word.replace("\u064a", "\u06cc").replace("\u0643", "\u06a9").strip(ZWNJ)
    return word


def script_of(word: str) -> str | None:
    for language, pattern in SCRIPTS.items():
        if pattern.fullmatch(word):
            return language
    return None


@lru_cache(maxsize=None)
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
        rank = words.index(normalize(word))
    except ValueError:
        return "rare"
    fraction = rank / len(words)
    for name, start, end in BUCKETS:
        if start <= fraction < end:
            return name
    return "30-50"


@dataclass
class Split:
    train: list[tuple[str, str]]  # (word, language)
    test: dict[str, dict[str, list[str]]]  # language → bucket → words


def make_split(*, test_per_bucket: int = 100, train_size: int = 6000, seed: int = 0) -> Split:
    """Test words drawn per bucket; training words from the rest, half uniform and half frequency-weighted (1/rank)
    like WikiSpell's, so the model sees both frequent and rare words. Train and test never share a word."""
    rng = random.Random(seed)
    train, test = [], {}
    for language in LANGUAGES:
        test[language] = {}
        held = set()
        for name, words in buckets(language).items():
            chosen = rng.sample(words, min(test_per_bucket, len(words)))
            test[language][name] = chosen
            held.update(chosen)
        pool = [w for w in ranked_words(language) if w not in held]
        uniform = rng.sample(pool, train_size // 2)
        weights = [1.0 / (rank + 1) for rank in range(len(pool))]
        weighted = rng.choices(pool, weights=weights, k=train_size // 2)
        train.extend((word, language) for word in dict.fromkeys(uniform + weighted))
    rng.shuffle(train)
    return Split(train, test)


def spelled(word: str) -> str:
    """WikiSpell's target format: the letters separated by spaces (a ZWNJ stays a character of its own)."""
    return " ".join(word)


def unspell(text: str) -> str:
    return "".join(text.split(" ")).strip()


def read_tsv(path: str | Path) -> list[tuple[str, str]]:
    """WikiSpell TSV: `word<TAB>w o r d` per line; returns (word, target word)."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        word, _, target = line.partition("\t")
        word = normalize(word)
        pairs.append((word, unspell(normalize(target)) if target else word))
    return pairs


def write_tsv(path: str | Path, words: list[str]) -> None:
    Path(path).write_text("".join(f"{w}\t{spelled(w)}\n" for w in words), encoding="utf-8")
