"""Every message id exists in all four languages (docs/architecture.md, i18n), and every one formats."""
from handlers.i18n import Translator, message_ids

LANGUAGES = ("en", "ru", "fa", "he")


def test_every_message_exists_in_every_language() -> None:
    ids = {lang: message_ids(lang) for lang in LANGUAGES}
    assert len(ids["en"]) > 100
    for lang in LANGUAGES[1:]:
        assert ids[lang] == ids["en"], (lang, sorted(ids["en"] ^ ids[lang]))


def test_every_message_formats_without_falling_back_to_its_id() -> None:
    for lang in LANGUAGES:
        translate = Translator(lang)
        for key in message_ids(lang):
            text = translate(key)
            assert text and text != key, (lang, key)
