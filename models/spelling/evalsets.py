"""Held-out evaluation lists: tokens as text writes them, from sources the training does not use.

Sources: Faker's locale data split at spaces with punctuation kept (`Mr.`, `ул.`, `רמב"ם`), double-barrelled
surnames, tokens its generators write (domains, e-mails, prices, dates, file names, ISBNs, emoji, sentence-final
words), and `wordfreq` words ranked after its first 20 000. Each language's pool is ranked by Zipf frequency and cut
into five equal buckets (top … rare), 250 tokens each. char-aware never sees them; char-blind meets them as often as
wordfreq says text does. `python -m models.spelling make-eval` rebuilds them (needs `faker`); docs/spelling.md."""
import importlib
import random
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from models.spelling.seq2seq import MAX_CHARS
from models.spelling.words import LANGUAGES, ZWNJ, normalize, read_tsv, script_of, write_tsv

EVAL_DIR = Path(__file__).with_name("eval")
EVAL_BUCKETS = ("top", "high", "mid", "low", "rare")
LOCALES = {"en": "en_US", "ru": "ru_RU", "fa": "fa_IR", "he": "he_IL"}
FAKER_FIELDS = {
    "person": ("first_names", "last_names", "middle_names", "language_names", "prefixes_male", "prefixes_female",
               "suffixes_male", "suffixes_female"),
    "address": ("city_names", "countries", "street_titles", "street_titles_noflex", "states", "states_abbr",
                "street_suffixes", "city_prefixes", "city_suffixes", "street_prefixes"),
    "lorem": ("word_list",),
    "company": ("large_companies", "company_names", "catch_phrase_nouns_fem", "catch_phrase_nouns_masc",
                "company_prefixes", "company_suffixes"),
    "job": ("jobs",),
    "color": ("all_colors",),
}
# Faker generators whose output is one token as text writes it; GENERATED of each, from a seeded Faker.
GENERATORS = ("domain_name", "free_email", "user_name", "pricetag", "file_name", "date", "time", "hostname",
              "isbn13", "hex_color", "ssn", "building_number", "currency_symbol", "tld")
GENERATED = 25
EPOCH_END = datetime(2026, 1, 1, tzinfo=UTC)
EMOJI = 100
SENTENCE_ENDS = 150
PER_BUCKET = 250
EXTRA_RARE = 600  # wordfreq words past rank 20 000, per language
# Brackets, quotes and separators around a token in running text are not part of it; dots, apostrophes and
# geresh are (`Inc.`, `א'`).
_EDGE = re.compile(r'^[\s(){}\[\]«»"“”„,;:،؛]+|[\s(){}\[\]«»"“”„,;:،؛]+$')


def _token(part: str) -> str:
    return normalize(_EDGE.sub("", part))


def _keeps(word: str, language: str) -> bool:
    """A token of the language (most letters in its script) or of none (`42`, `€`, `😂`), not blank, ≤ MAX_CHARS."""
    return 2 <= len(word) <= MAX_CHARS and not any(c.isspace() for c in word) and \
        script_of(word) in (language, None)


def faker_words(language: str) -> list[str]:
    """Every token of the locale's Faker data, as written (Smith, NY, ул., Mr., К.Маркса, גבעת ח"ן → ח"ן)."""
    words: list[str] = []
    for provider, fields in FAKER_FIELDS.items():
        try:
            module = importlib.import_module(f"faker.providers.{provider}.{LOCALES[language]}")
        except ModuleNotFoundError:
            continue
        for name in fields:
            for entry in getattr(module.Provider, name, ()):
                for part in str(entry).split():
                    word = _token(part)
                    if _keeps(word, language):
                        words.append(word)
    return list(dict.fromkeys(words))


def generated_tokens(language: str, seed: int) -> list[str]:
    """Tokens Faker's generators write for the locale (`tucker.info`, `$684.18`, `2014-07-30`, `pick.css`, `🇦🇹`,
    `🧖🏼‍♂️`), seeded."""
    from faker import Faker

    fake = Faker(LOCALES[language])
    fake.seed_instance(seed)
    words: list[str] = []
    for method in GENERATORS:
        made: list[str] = []
        # Dates and times are drawn up to a fixed end, not up to "now": the lists must rebuild the same any day.
        fixed = {"end_datetime": EPOCH_END} if method in ("date", "time") else {}
        for _ in range(GENERATED * 4):
            word = _token(str(getattr(fake, method)(**fixed)))
            if _keeps(word, language) and word not in made:
                made.append(word)
            if len(made) == GENERATED:
                break
        words += made
    # The last token of a sentence keeps its full stop (`nice.`, `работа.`), as running text writes it.
    ends = [_token(fake.sentence().split()[-1]) for _ in range(SENTENCE_ENDS)]
    emoji = {_token(fake.emoji()) for _ in range(EMOJI * 2)}
    return words + list(dict.fromkeys(w for w in ends if _keeps(w, language))) + sorted(e for e in emoji if e)[:EMOJI]


def double_barrelled(language: str, rng: random.Random, count: int) -> list[str]:
    from faker.providers.person import Provider as _Base  # noqa: F401  (faker must be installed)

    module = importlib.import_module(f"faker.providers.person.{LOCALES[language]}")
    last = [w for w in (normalize(str(n)) for n in module.Provider.last_names)
            if " " not in w and script_of(w) == language]
    made = {f"{a}-{b}" for a, b in (rng.sample(last, 2) for _ in range(count * 2)) if len(a) + len(b) < MAX_CHARS}
    return sorted(made)[:count] if len(made) <= count else rng.sample(sorted(made), count)


def beyond_training(language: str, rng: random.Random, count: int) -> list[str]:
    """wordfreq words ranked after the 20 000 of `ranked_words` (the bands /spell names): rarer words."""
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
            generated_tokens(language, seed) + beyond_training(language, rng, EXTRA_RARE)
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


CLDR_DIR = EVAL_DIR / "cldr"
CLDR_PER_BUCKET = 200


def cldr_words(language: str) -> list[str]:
    """Tokens of the Unicode CLDR data for the language (via `babel`, which Fluent brings): territory, language,
    script and currency names, currency symbols, month and weekday names wide and abbreviated (`янв.`, `ינו׳`),
    as written — a source neither model trains on and Faker does not use."""
    from babel import Locale

    locale = Locale.parse(language)
    entries: list[str] = []
    for table in (locale.territories, locale.languages, locale.scripts, locale.currencies, locale.currency_symbols):
        entries += [str(v) for v in table.values()]
    for calendar in (locale.months, locale.days):
        for context in calendar.values():
            for width in ("wide", "abbreviated"):
                entries += [str(v) for v in context.get(width, {}).values()]
    words = [_token(part) for entry in entries for part in entry.split()]
    return list(dict.fromkeys(w for w in words if _keeps(w, language) or (len(w) == 1 and not w.isalnum())))


def build_cldr(directory: Path = CLDR_DIR) -> dict[str, dict[str, list[str]]]:
    """`<lang>-top.tsv` and `<lang>-rare.tsv`: the most and the least frequent CLDR_PER_BUCKET tokens (wordfreq Zipf,
    ties by name), for `bench --words top=… rare=…`."""
    from wordfreq import zipf_frequency

    directory.mkdir(parents=True, exist_ok=True)
    sets: dict[str, dict[str, list[str]]] = {}
    for language in LANGUAGES:
        folded: dict[str, str] = {}
        for word in cldr_words(language):
            folded.setdefault(word.casefold(), word)
        words = sorted(folded.values(), key=lambda w: (-zipf_frequency(w.replace(ZWNJ, " "), language), w))
        size = min(CLDR_PER_BUCKET, len(words) // 3)
        sets[language] = {"top": words[:size], "rare": words[-size:]}
        for bucket, chosen in sets[language].items():
            write_tsv(directory / f"{language}-{bucket}.tsv", chosen)
    return sets
