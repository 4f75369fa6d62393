"""LOG_FORMAT=json: one JSON object per line, secrets redacted, third-party output (model loading, library loggers,
warnings, progress bars) included (in a child process: real root logger, real stderr)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


THIRD_PARTY = """
from bot.jsonlog import json_excepthook, progress_bars_off_unless_terminal

progress_bars_off_unless_terminal()  # first, as `python -m bot` does: the libraries read it at import
import asyncio
import logging
import warnings

from bot.app import create_hub
from bot.config import AppSettings
from bot.runtime import setup_logging

config = AppSettings.load(env_file=None)
setup_logging("INFO", config)
json_excepthook()


async def main():
    hub = create_hub(config.models)
    # The embedded MiniLM through the hub (sentence-transformers, transformers, torch, huggingface_hub): its load
    # printed a plain "Loading weights" progress bar; each library's own handler printed plain lines.
    await hub.embedder("minilm").embed(["a paper about cats", "a paper about dogs"])
    from tqdm.auto import tqdm
    from transformers.utils import logging as transformers_logging

    transformers_logging.get_logger("transformers.modeling_utils").warning("third-party: transformers")
    logging.getLogger("torch.distributed").warning("third-party: torch")
    logging.getLogger("huggingface_hub.file_download").warning("third-party: huggingface_hub")
    for _ in tqdm(range(3), desc="third-party: tqdm"):
        pass
    warnings.warn("third-party: warnings")
    await hub.close()


asyncio.run(main())
raise RuntimeError("third-party: uncaught")
"""


@pytest.mark.slow  # loads a real model (MiniLM)
def test_json_covers_third_party_output():
    """With LOG_FORMAT=json and stdout not a terminal, every non-empty line on stdout and stderr is one JSON object:
    model loading (no progress bars), the loggers of transformers, torch and huggingface_hub, Python warnings and an
    uncaught exception, each exactly once."""
    env = {**os.environ, "BOT_TOKEN": TOKEN, "LOG_FORMAT": "json", "PYTHONPATH": str(ROOT)}
    for key in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        env.pop(key, None)
    result = subprocess.run([sys.executable, "-c", THIRD_PARTY], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stderr[-3000:]
    lines = [line for line in (result.stdout + "\n" + result.stderr).splitlines() if line.strip()]
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not JSON: {line[:300]!r}\n{result.stderr[-3000:]}") from None
    messages = [entry["message"] for entry in entries]
    for source in ("transformers", "torch", "huggingface_hub", "warnings"):
        assert sum(f"third-party: {source}" in message for message in messages) == 1, (source, messages)
    assert any(entry["logger"].startswith("sentence_transformers") for entry in entries), messages
    uncaught = [entry for entry in entries if entry["level"] == "CRITICAL"]
    assert len(uncaught) == 1 and "third-party: uncaught" in uncaught[0]["exception"]
    assert "it/s" not in result.stderr and "\r" not in result.stderr  # no progress bar at all
