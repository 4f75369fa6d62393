"""Fluent localization. Strings live in `bot/locales/<lang>/*.ftl` (data the app ships; every feature owns its own
file), read by the translator here because handlers format every reply with it.

Arguments are HTML-escaped here, once, because every message goes out in HTML parse mode: a handler cannot forget.
Pass `Html("<b>…</b>")` for a fragment that is already safe markup."""
import unicodedata
from functools import cache
from pathlib import Path

from fluent.runtime import FluentBundle, FluentResource
from fluent.syntax import ast

from chatkit.render import FSI, PDI, escape

LOCALES = Path(__file__).resolve().parents[1] / "bot" / "locales"
LANGUAGES = ("en", "ru", "fa", "he")
RTL_LANGUAGES = frozenset({"fa", "he"})
FALLBACK = "en"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "fa": "فارسی", "he": "עברית"}


class Html(str):
    """A string that is already valid Telegram HTML and must not be escaped again."""


@cache
def _bundle(lang: str) -> FluentBundle:
    # Unicode isolation of placeables (FSI…PDI) keeps Latin names and numbers in order inside RTL sentences. In
    # left-to-right languages the translator isolates the values that have a direction of their own (see
    # `needs_isolation`): isolating "Ada" or "10" changes nothing on screen, but the invisible characters would be
    # copied along with an id or a zone name a user copies from a reply into their next command.
    bundle = FluentBundle([lang], use_isolating=lang in RTL_LANGUAGES)
    for path in sorted((LOCALES / lang).glob("*.ftl")):
        bundle.add_resource(FluentResource(path.read_text(encoding="utf-8")))
    return bundle


@cache
def message_ids(lang: str) -> frozenset[str]:
    """The message ids of a language's Fluent files (read from the parsed files: the bundle keeps them private)."""
    ids: set[str] = set()
    for path in sorted((LOCALES / lang).glob("*.ftl")):
        resource = FluentResource(path.read_text(encoding="utf-8"))
        ids |= {entry.id.name for entry in resource.body if isinstance(entry, ast.Message)}
    return frozenset(ids)


def normalize_language(code: str | None) -> str | None:
    """'ru-RU' → 'ru', 'iw' (old Hebrew code) → 'he'; None for languages we do not speak."""
    if not code:
        return None
    base = code.lower().replace("_", "-").split("-")[0]
    base = {"iw": "he", "pes": "fa", "prs": "fa"}.get(base, base)
    return base if base in LANGUAGES else None


# Bidi classes that give a string a direction of its own, or change the direction of what follows.
_DIRECTIONAL = frozenset({"R", "AL", "RLE", "RLO", "LRE", "LRO", "PDF", "RLI", "LRI", "FSI", "PDI"})


def needs_isolation(text: str) -> bool:
    """True when `text` has right-to-left letters or explicit bidi controls (isolating anything else in a
    left-to-right sentence changes nothing on screen)."""
    return not text.isascii() and any(unicodedata.bidirectional(char) in _DIRECTIONAL for char in text)


class Translator:
    def __init__(self, lang: str):
        self.lang = lang if lang in LANGUAGES else FALLBACK

    @property
    def rtl(self) -> bool:
        return self.lang in RTL_LANGUAGES

    def __call__(self, key: str, /, **args: object) -> str:
        safe = {name: (value if isinstance(value, (int, float, Html)) else escape(value))
                for name, value in args.items()}
        if not self.rtl:
            # A user's string with right-to-left letters or a bidi control (an RLO in a name, a Hebrew topic) is
            # isolated in every language: otherwise it flips the rest of the English line.
            safe = {name: (Html(f"{FSI}{value}{PDI}") if isinstance(value, str) and needs_isolation(value) else value)
                    for name, value in safe.items()}
        for lang in (self.lang, FALLBACK):
            bundle = _bundle(lang)
            # A message may carry only attributes (no value): there is then nothing to format in this language.
            pattern = bundle.get_message(key).value if bundle.has_message(key) else None
            if pattern is not None:
                text, _errors = bundle.format_pattern(pattern, safe)
                return Html(text)
        return Html(escape(key))

    def __repr__(self) -> str:
        return f"Translator({self.lang!r})"
