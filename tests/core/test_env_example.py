"""`.env.example` is the settings reference: copied to .env as it is, the one settings object must load from it, and
every setting of every section must be documented in it."""
import re
from pathlib import Path

import pytest

from bot.config import AppSettings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
DOCUMENTED = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text(), flags=re.MULTILINE))


@pytest.mark.parametrize("section", sorted(AppSettings.SECTIONS))
def test_every_setting_of_the_section_is_documented(section):
    missing = {name.upper() for name in AppSettings.SECTIONS[section].model_fields} - DOCUMENTED
    assert not missing, f"{section} settings missing from .env.example: {sorted(missing)}"


def test_the_example_copied_to_dot_env_loads_every_section_with_the_documented_values(tmp_path, monkeypatch):
    dot_env = tmp_path / ".env"
    dot_env.write_text(EXAMPLE.read_text())
    for name in DOCUMENTED:
        monkeypatch.delenv(name, raising=False)
    settings = AppSettings.load(env_file=dot_env)  # raises on any value the example gets wrong
    # Every value the example writes is the value loaded (that `load` reads the file at all: test_settings.py).
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.+)$", EXAMPLE.read_text(), flags=re.MULTILINE))
    assert values, "the example sets no value at all"
    for name, text in values.items():
        section = next(s for s in settings.sections() if name.lower() in type(s).model_fields)
        loaded = getattr(section, name.lower())
        assert str(loaded) == text or _same(loaded, text), f"{name}: example {text!r}, loaded {loaded!r}"


def _same(loaded: object, text: str) -> bool:
    """Loaded values that print differently from the file: numbers (`1.0` vs `1`), paths, enums."""
    if isinstance(loaded, bool):
        return str(loaded).lower() == text.lower()
    if isinstance(loaded, int | float):
        return float(loaded) == float(text)
    if isinstance(loaded, Path):
        return loaded == Path(text)
    return str(getattr(loaded, "value", loaded)) == text
