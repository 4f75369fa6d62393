"""The one settings object: sections on one base, `.env` read only by `load()`, bad values stop the start with one
line naming the setting (never its value)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import AppSettings, SettingsError
from digests.config import DigestSettings
from handlers.settings import Settings
from models.config import EnvSettings, ModelSettings
from models.imagegen.config import ImageGenSettings

ROOT = Path(__file__).resolve().parents[2]


def test_every_section_shares_the_one_base_and_its_configuration():
    assert set(AppSettings.SECTIONS.values()) == {Settings, ModelSettings, DigestSettings, ImageGenSettings}
    for section in AppSettings.SECTIONS.values():
        assert issubclass(section, EnvSettings) and section.model_config == EnvSettings.model_config


def test_field_names_are_one_namespace_across_sections():
    names = [name for section in AppSettings.SECTIONS.values() for name in section.model_fields]
    assert len(names) == len(set(names))


def test_sections_built_directly_ignore_dot_env_and_load_reads_it(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("BOT_USERNAME=from_dot_env\nENGINE_MAX_BATCH=7\nBROADCAST_RETRIES=2\n"
                                   "FLUX_DAILY_LIMIT_USER=3\n")
    for name in ("BOT_USERNAME", "ENGINE_MAX_BATCH", "BROADCAST_RETRIES", "FLUX_DAILY_LIMIT_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().bot_username is None and ModelSettings().engine_max_batch == 32
    assert DigestSettings().broadcast_retries == 5 and ImageGenSettings().flux_daily_limit_user == 20

    loaded = AppSettings.load()  # the default file: `.env` in the working directory
    assert loaded.bot.bot_username == "from_dot_env" and loaded.models.engine_max_batch == 7
    assert loaded.digests.broadcast_retries == 2 and loaded.imagegen.flux_daily_limit_user == 3
    assert AppSettings.load(env_file=None).bot.bot_username is None


def test_overrides_go_to_the_section_that_has_the_field():
    settings = AppSettings.load(env_file=None, bot_username="b", engine_max_batch=3, broadcast_retries=1,
                                flux_daily_limit_chat=4)
    assert (settings.bot.bot_username, settings.models.engine_max_batch, settings.digests.broadcast_retries,
            settings.imagegen.flux_daily_limit_chat) == ("b", 3, 1, 4)
    with pytest.raises(TypeError, match="no_such_setting"):
        AppSettings.load(env_file=None, no_such_setting=1)

    changed = settings.updated(admin_ids=frozenset({5}), engine_max_n=2)
    assert changed.bot.is_admin(5) and changed.models.engine_max_n == 2
    assert not settings.bot.is_admin(5) and settings.models.engine_max_n == 16  # the original is unchanged
    assert changed.digests is settings.digests


@pytest.mark.parametrize(("field", "value"), [("webhook_port", 0), ("engine_max_batch", 0),
                                              ("broadcast_per_second", -1), ("imagegen_provider", "midjourney")])
def test_a_bad_value_in_any_section_is_one_line_naming_the_setting(field, value):
    with pytest.raises(SettingsError) as error:
        AppSettings.load(env_file=None, **{field: value})
    message = str(error.value)
    assert message.startswith(f"Invalid setting {field.upper()}: ") and "\n" not in message


def test_a_bad_secret_is_named_but_never_printed():
    with pytest.raises(SettingsError) as error:
        AppSettings.load(env_file=None, webhook_secret="no spaces allowed in this secret")
    assert "WEBHOOK_SECRET" in str(error.value) and "no spaces allowed" not in str(error.value)


def test_python_m_bot_stops_on_a_bad_dot_env_value_with_one_line(tmp_path):
    (tmp_path / ".env").write_text("WEBHOOK_SECRET=has spaces, a secret\nENGINE_MAX_BATCH=0\n")
    env = {key: value for key, value in os.environ.items()
           if key.lower() not in {n for s in AppSettings.SECTIONS.values() for n in s.model_fields}}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Invalid setting "), done.stderr
    assert "has spaces" not in done.stderr and not (tmp_path / "data").exists()  # stopped before the database
