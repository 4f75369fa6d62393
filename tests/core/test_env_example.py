"""`.env.example` is the settings reference: copied to .env as it is, every settings class must load from it,
and every setting of every class must be documented in it."""
import os
import re
from pathlib import Path

import pytest

from bot.config import Settings
from digests.config import DigestSettings
from models.config import ModelSettings
from models.imagegen.config import ImageGenSettings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
CLASSES = (Settings, ModelSettings, ImageGenSettings, DigestSettings)


@pytest.mark.parametrize("settings_class", CLASSES, ids=lambda c: c.__name__)
def test_every_setting_is_documented_and_the_example_loads(settings_class, tmp_path, monkeypatch):
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text(), flags=re.MULTILINE))
    missing = {name.upper() for name in settings_class.model_fields} - documented
    assert not missing, f"{settings_class.__name__} settings missing from .env.example: {sorted(missing)}"
    (tmp_path / ".env").write_text(EXAMPLE.read_text())
    monkeypatch.chdir(tmp_path)
    for name in documented:
        monkeypatch.delenv(name, raising=False)
    settings_class()  # raises on any value the example gets wrong
