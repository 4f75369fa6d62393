"""Held-out evaluation lists that look like real text and that training never sees.

Source: Faker's locale data (en_US, ru_RU, fa_IR, he_IL: first/middle/last names, cities, streets, countries,
companies, jobs, colours, language names, its lorem word lists — words people wrote for each locale, in their natural
case), double-barrelled surnames made from its last names (`Smith-Johnson`, `Коэн-Леви` style), and `wordfreq` words
from ranks *below* the 20 000 the training draws from. Each language's pool is ranked by `wordfreq`'s Zipf frequency
and cut into five equal frequency buckets (top … rare); 250 words are drawn from each. Training (`data.py`) drops every
word of these lists, and every part of their hyphenated words, case-folded. The lists ship as WikiSpell TSV files in
`models/spelling/eval/`; `python -m models.spelling make-eval` rebuilds them (needs the `faker` package)."""
import importlib
import random
import re
from functools import cache
from pathlib import Path

from models.spelling.seq2seq import MAX_CHARS
from models.spelling.words import LANGUAGES, ZWNJ, normalize, read_tsv, script_of, write_tsv

EVAL_DIR = Path(__file__).with_name("eval")
EVAL_BUCKETS = ("top", "high", "mid", "low", "rare")
LOCALES = {"en": "en_US", "ru": "ru_RU", "fa": "fa_IR", "he": "he_IL"}
FAKER_FIELDS = {
    "person": ("first_names", "last_names", "middle_names", "language_names"),
    "address": ("city_names", "countries", "street_titles", "street_titles_noflex", "states", "states_abbr"),
    "lorem": ("word_list",),
    "company": ("large_companies", "company_names", "catch_phrase_nouns_fem", "catch_phrase_nouns_masc"),
    "job": ("jobs",),
    "color": ("all_colors",),
}
PER_BUCKET = 250
EXTRA_RARE = 600  # wordfreq words past the training ranks, per language
_EDGE = re.compile(r"^[^\w]+|[^\w]+$")


def faker_words(language: str) -> list[str]:
    """Every word of the locale's Faker data that is a word of the language (as written: Smith, Москва, NY)."""
    words: list[str] = []
    for provider, fields in FAKER_FIELDS.items():
        try:
            module = importlib.import_module(f"faker.providers.{provider}.{LOCALES[language]}")
        except ModuleNotFoundError:
            continue
        for name in fields:
            for entry in getattr(module.Provider, name, ()):
                for part in str(entry).split():
                    word = normalize(_EDGE.sub("", part))
                    if 2 <= len(word) <= MAX_CHARS and script_of(word) == language:
                        words.append(word)
    return list(dict.fromkeys(words))


def double_barrelled(language: str, rng: random.Random, count: int) -> list[str]:
    from faker.providers.person import Provider as _Base  # noqa: F401  (faker must be installed)

    module = importlib.import_module(f"faker.providers.person.{LOCALES[language]}")
    last = [w for w in (normalize(str(n)) for n in module.Provider.last_names)
            if " " not in w and script_of(w) == language]
    made = {f"{a}-{b}" for a, b in (rng.sample(last, 2) for _ in range(count * 2)) if len(a) + len(b) < MAX_CHARS}
    return sorted(made)[:count] if len(made) <= count else rng.sample(sorted(made), count)


def beyond_training(language: str, rng: random.Random, count: int) -> list[str]:
    """wordfreq words ranked after the training lists' last word (a rank range training never draws from)."""
    from wordfreq import top_n_list

    from models.spelling.words import SCRIPTS, ranked_words

    trained = ranked_words(language)
    ranked = top_n_list(language, 200_000)
    start = max(i for i, w in enumerate(ranked[:60_000]) if normalize(w) == trained[-1]) + 1
    pool = [w for w in dict.fromkeys(normalize(w) for w in ranked[start:start + 100_000])
            if 3 <= len(w) <= MAX_CHARS and SCRIPTS[language].fullmatch(w)]
    return rng.sample(pool, min(count, len(pool)))


def build(seed: int = 0, per_bucket: int = PER_BUCKET, directory: Path = EVAL_DIR) -> dict[str, dict[str, list[str]]]:
    from wordfreq import zipf_frequency

    rng = random.Random(seed)
    sets: dict[str, dict[str, list[str]]] = {}
    directory.mkdir(parents=True, exist_ok=True)
    for language in LANGUAGES:
        pool = faker_words(language) + double_barrelled(language, rng, 150) + \
            beyond_training(language, rng, EXTRA_RARE)
        folded: dict[str, str] = {}
        for word in pool:
            folded.setdefault(word.casefold(), word)
        words = sorted(folded.values())
        rng.shuffle(words)  # ties in frequency fall in random order
        words.sort(key=lambda w: -zipf_frequency(w.replace(ZWNJ, " "), language))
        size = len(words) // len(EVAL_BUCKETS)
        sets[language] = {}
        for index, bucket in enumerate(EVAL_BUCKETS):
            part = words[index * size:(index + 1) * size]
            chosen = rng.sample(part, min(per_bucket, len(part)))
            sets[language][bucket] = chosen
            write_tsv(directory / f"{language}-{bucket}.tsv", chosen)
    return sets


@cache
def held_out() -> dict[str, dict[str, tuple[str, ...]]]:
    """language → bucket → words, from the shipped TSV files."""
    return {language: {bucket: tuple(target for _, target in read_tsv(EVAL_DIR / f"{language}-{bucket}.tsv"))
                       for bucket in EVAL_BUCKETS} for language in LANGUAGES}


@cache
def held_out_folded() -> frozenset[str]:
    """Every evaluation word and every part of a hyphenated one, case-folded: what training must never draw."""
    folded: set[str] = set()
    for buckets in held_out().values():
        for words in buckets.values():
            for word in words:
                folded.add(word.casefold())
                folded.update(part.casefold() for part in re.split(r"[-\u05be]", word) if part)
    return frozenset(folded)
