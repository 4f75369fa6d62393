"""Fluent localization. Strings live in `bot/locales/<lang>/*.ftl`; every feature owns its own file.

Arguments are HTML-escaped here, once, because every message goes out in HTML parse mode: a handler cannot forget.
Pass `Html("<b>…</b>")` for a fragment that is already safe markup."""
from functools import lru_cache
from pathlib import Path

from fluent.runtime import FluentBundle, FluentResource

from bot.render import escape

LOCALES = Path(__file__).with_name("locales")
LANGUAGES = ("en", "ru", "fa", "he")
RTL_LANGUAGES = frozenset({"fa", "he"})
FALLBACK = "en"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "fa": "فارسی", "he": "עברית"}


class Html(str):
    """A string that is already valid Telegram HTML and must not be escaped again."""


@lru_cache(maxsize=None)
def _bundle(lang: str) -> FluentBundle:
    # Unicode isolation of placeables (FSI…PDI) keeps Latin names and numbers in order inside RTL sentences;
    # in LTR languages it only adds invisible characters, so it is on for Persian and Hebrew alone.
    bundle = FluentBundle([lang], use_isolating=lang in RTL_LANGUAGES)
    for path in sorted((LOCALES / lang).glob("*.ftl")):
        bundle.add_resource(FluentResource(path.read_text(encoding="utf-8")))
    return bundle


def message_ids(lang: str) -> set[str]:
    return set(_bundle(lang)._messages)


def normalize_language(code: str | None) -> str | None:
    """'ru-RU' → 'ru', 'iw' (old Hebrew code) → 'he'; None for languages we do not speak."""
    if not code:
        return None
    base = code.lower().replace("_", "-").split("-")[0]
    base = {"iw": "he", "pes": "fa", "prs": "fa"}.get(base, base)
    return base if base in LANGUAGES else None


class Translator:
    def __init__(self, lang: str):
        self.lang = lang if lang in LANGUAGES else FALLBACK

    @property
    def rtl(self) -> bool:
        return self.lang in RTL_LANGUAGES

    def __call__(self, key: str, /, **args) -> str:
        safe = {name: (value if isinstance(value, (int, float, Html)) else escape(value))
                for name, value in args.items()}
        for lang in (self.lang, FALLBACK):
            bundle = _bundle(lang)
            if bundle.has_message(key):
                text, _errors = bundle.format_pattern(bundle.get_message(key).value, safe)
                return Html(text)
        return Html(escape(key))

    def __repr__(self) -> str:
        return f"Translator({self.lang!r})"
