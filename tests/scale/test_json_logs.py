"""LOG_FORMAT=json: one JSON object per line, secrets redacted (in a child process: real root logger, real stderr)."""
import json
import os
import subprocess
import sys
from pathlib import Path

TOKEN = "987654:AAJsonLogTokenSecretPart_abcdefghijk"
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = f"""
import logging
from bot.config import AppSettings
from bot.runtime import setup_logging

config = AppSettings.load(env_file=None)
setup_logging("INFO", config)
log = logging.getLogger("bot.test")
log.info("calling https://api.telegram.org/bot{TOKEN}/getMe", extra={{"update_id": 7}})
try:
    raise RuntimeError("failed with {TOKEN}")
except RuntimeError:
    log.exception("update %s failed", 7)
"""


def run(log_format: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOT_TOKEN": TOKEN, "LOG_FORMAT": log_format, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120)


def test_json_lines_with_secrets_redacted():
    result = run("json")
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stderr + result.stdout
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    first, second = lines[-2], lines[-1]
    assert first["level"] == "INFO" and first["logger"] == "bot.test" and first["update_id"] == 7
    assert "[redacted]" in first["message"] and first["ts"].endswith("+00:00")
    assert second["message"] == "update 7 failed" and "RuntimeError" in second["exception"]
    assert "[redacted]" in second["exception"]


def test_text_is_the_default_and_redacted_too():
    result = run("text")
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stderr and "[redacted]" in result.stderr
    assert not any(line.startswith("{") for line in result.stderr.splitlines())
