"""Every malformed setting stops `python -m bot` with one line naming the setting (never a traceback, never the
value), in both log formats (LOG_FORMAT=json: one JSON object), and a non-zero exit. In-process over the whole
table; as real subprocesses (`python -m bot run` and `console`) under `-m slow` (each start imports the stack)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import __main__ as entry
from bot.config import AppSettings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:AAHstartupTestTokenSecretPart_0123456"
# (setting, bad value, what must not be printed)
BAD = [
    ("REMOTE_MODELS", '{"m": {"base_url": "http://x", ', '"base_url"'),
    ("EXTRA_MODELS", "[1,", "[1,"),
    ("LOG_LEVEL", "LOUD", "LOUD"),
    ("BOT_TOKEN", "abc:def-secretish", "secretish"),
    ("BOT_TOKEN", "123456", "123456"),
    ("DATABASE_URL", "postgresql+asyncpg://u:pw_secret@[::1:5432/db", "pw_secret"),
    ("DATABASE_URL", "postgresql+asyncpg://u:pw_secret@[::1]:99999999/db", "pw_secret"),
    ("LOG_FORMAT", "xml", None),
]
SETTING_NAMES = {name for section in AppSettings.SECTIONS.values() for name in section.model_fields}


def _environment(name: str, value: str, log_format: str) -> dict[str, str]:
    env = {key: val for key, val in os.environ.items() if key.lower() not in SETTING_NAMES}
    env.update(BOT_TOKEN=TOKEN, LOG_FORMAT=log_format)
    env[name] = value
    return env


def _check(output: str, name: str, secret: str | None, log_format: str) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output[-2000:]
    assert "Traceback" not in output and (secret is None or secret not in output), output[-2000:]
    line = lines[0]
    if log_format == "json" and name != "LOG_FORMAT":  # a bad LOG_FORMAT cannot ask for JSON
        entry_ = json.loads(line)
        assert entry_["level"] == "CRITICAL" and entry_["message"].startswith(f"Invalid setting {name}:"), line
    else:
        assert line.startswith(f"Invalid setting {name}:"), line
    assert TOKEN not in output


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("name, value, secret", BAD)
def test_one_line_for_every_bad_setting(monkeypatch, capsys, tmp_path, name, value, secret, log_format):
    monkeypatch.chdir(tmp_path)  # no .env here
    for key in list(os.environ):
        if key.lower() in SETTING_NAMES:
            monkeypatch.delenv(key)
    for key, val in _environment(name, value, log_format).items():
        monkeypatch.setenv(key, val)
    assert entry.main(["run"]) == 2
    captured = capsys.readouterr()
    _check(captured.err + captured.out, name, secret, log_format)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "console"])
@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("name, value, secret", BAD)
def test_one_line_from_a_real_process(tmp_path, command, name, value, secret, log_format):
    env = _environment(name, value, log_format)
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "bot", command], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    _check(done.stderr + done.stdout, name, secret, log_format)
