"""No secret at any exit: malformed URL settings stop the start with one line and print no token; tracebacks,
warnings, thread errors, unretrieved task errors and prints are redacted; webhook mode without a secret refuses to
start unless WEBHOOK_ALLOW_NO_SECRET=1, and then warns. The real `python -m bot` is run as a child process and its
stdout and stderr are searched for the token."""
import asyncio
import logging
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot import redact
from bot.config import AppSettings, SettingsError
from chatkit.parsing import check_url

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "987654:AAHredactMePleaseSecretPart_0123456789"
TOKEN_PART = TOKEN.split(":")[1]


def run_bot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("BOT_", "WEBHOOK_", "TELEGRAM_", "REPLICATE_", "FAL_", "ARXIV_", "DIGEST_"))}
    clean.update(PYTHONPATH=str(ROOT), BOT_TOKEN=TOKEN, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3",
                 **env)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=clean, capture_output=True,
                          text=True, timeout=240)


def assert_no_secret(result: subprocess.CompletedProcess[str]) -> None:
    both = result.stdout + result.stderr
    assert TOKEN not in both and TOKEN_PART not in both, both[-2000:]


@pytest.mark.parametrize("name, value", [
    ("TELEGRAM_API_BASE", "127.0.0.1:8081"),
    ("TELEGRAM_API_BASE", "htp://127.0.0.1:8081"),
    ("TELEGRAM_API_BASE", "http://127.0.0.1:65536"),
    ("TELEGRAM_API_BASE", "http://[::1"),
    ("TELEGRAM_API_BASE", f"http://127.0.0.1:8081/{TOKEN} x"),  # a pasted token, and a space
    ("WEBHOOK_URL", "https://example.org:99999/hook"),
    ("REPLICATE_API_BASE", "ftp://example.org"),
    ("DIGEST_FEEDS", "https://example.org/rss,example.org/atom"),
])
def test_malformed_url_setting_stops_with_one_line_and_no_secret(tmp_path, name, value):
    result = run_bot(tmp_path, "run", **{name: value})
    assert result.returncode != 0
    assert_no_secret(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[-1]] and lines[-1].startswith(f"Invalid setting {name}:"), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert value not in result.stderr  # the value itself is never echoed (it may hold credentials)


def test_webhook_without_secret_refuses_to_start(tmp_path):
    result = run_bot(tmp_path, "run", WEBHOOK_URL="https://example.org/hook")
    assert result.returncode != 0
    assert "Invalid setting WEBHOOK_SECRET" in result.stderr and "WEBHOOK_ALLOW_NO_SECRET" in result.stderr
    assert_no_secret(result)


async def test_webhook_without_secret_allowed_explicitly_warns_at_start(tmp_path, caplog):
    from bot.app import create_bot
    from bot.runtime import runtime
    from bot.shutdown import Shutdown
    from bot.transports.telegram import run_webhook
    from fakes.botapi import FakeBotAPI

    with pytest.raises(SettingsError):
        AppSettings.load(env_file=None, webhook_url="https://example.org/hook")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def scenario() -> None:
        async with FakeBotAPI() as fake:
            config = AppSettings.load(env_file=None, bot_token=TOKEN, telegram_api_base=fake.base_url,
                                      database_url=f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3",
                                      webhook_url="https://example.org/hook", webhook_allow_no_secret=True,
                                      webhook_host="127.0.0.1", webhook_port=port, digest_scheduler="off")
            assert config.bot.webhook_secret is None
            shutdown = Shutdown()
            async with runtime(config, with_models=False) as rt:
                bot = create_bot(config.bot)
                serving = asyncio.create_task(run_webhook(bot, rt.dispatcher, config.bot, shutdown))
                await asyncio.sleep(1.0)
                shutdown.trigger()
                await asyncio.wait_for(serving, 60)
                await bot.session.close()

    caplog.set_level(logging.INFO)
    await scenario()
    assert "WEBHOOK_SECRET is not set" in caplog.text
    assert "shutdown:" in caplog.text


PROBE = textwrap.dedent("""
    import asyncio, logging, sys, threading, warnings
    from bot import redact
    redact.install_early(env_file=None)
    logging.basicConfig(level=logging.INFO)
    redact.install([])
    token = sys.argv[1]
    print("print:", token)
    sys.stderr.write("stderr: " + token + "\\n")
    warnings.warn("warning: " + token)
    logging.getLogger("probe").error("log: %s", token)
    try:
        raise ValueError(token)
    except ValueError:
        logging.getLogger("probe").exception("logged traceback")
    def boom():
        raise RuntimeError("thread: " + token)
    thread = threading.Thread(target=boom)
    thread.start(); thread.join()
    async def main():
        redact.install_on_loop()
        async def fail():
            raise RuntimeError("task: " + token)
        task = asyncio.get_running_loop().create_task(fail())
        await asyncio.sleep(0.05)
        del task
        import gc; gc.collect()
        await asyncio.sleep(0.05)
    asyncio.run(main())
    raise RuntimeError("uncaught: https://api.telegram.org/bot" + token + "/getMe")
""")


def test_every_exit_is_redacted(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env.update(PYTHONPATH=str(ROOT), BOT_TOKEN=TOKEN)
    result = subprocess.run([sys.executable, "-c", PROBE, TOKEN], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    both = result.stdout + result.stderr
    assert result.returncode == 1
    for where in ("print:", "stderr:", "warning:", "log:", "logged traceback", "thread:", "task:", "uncaught:"):
        assert where in both, (where, both[-3000:])
    assert TOKEN not in both and TOKEN_PART not in both, both[-3000:]
    assert redact.REDACTED in both


def test_redaction_knows_secrets_by_name_and_their_forms():
    found = redact.environment_secrets({"BOT_TOKEN": TOKEN, "FAL_API_KEY": "fal-key-123456", "HOME": "/root",
                                        "DATABASE_URL": "postgresql://u:pa55word-x@db/x"}, env_file=None)
    assert set(found) == {TOKEN, "fal-key-123456", "pa55word-x"}
    redact.add([TOKEN])
    assert redact.redact(f"GET /bot{TOKEN}/getMe") == f"GET /bot{redact.REDACTED}/getMe"
    assert TOKEN_PART not in redact.redact(f"token part {TOKEN_PART} alone")


@pytest.mark.parametrize("url", ["127.0.0.1:8081", "htp://x.org", "http://h:65536", "http://[::1", "http://",
                                 "https://exa mple.org", "http://h:0", "", "javascript:alert(1)", "http://h:-1"])
def test_check_url_refuses_without_repeating_the_value(url):
    with pytest.raises(ValueError) as raised:
        check_url(url)
    if len(url) > 8:  # shorter ones ("http://") are part of every reason's example
        assert url not in str(raised.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8081", "https://api.telegram.org", "http://[::1]:8081/x",
                                 "https://bot.example.org/tg/hook"])
def test_check_url_accepts(url):
    assert check_url(url) == url


def test_a_remote_models_key_comes_from_the_settings_not_the_environment(monkeypatch):
    """REMOTE_MODELS names the variable; the settings read it once and carry it as a secret, so the endpoint and the
    log redaction get the key from the settings object (the variable may be gone by then)."""
    from bot.runtime import remote_model_keys
    from models.config import ModelSettings, RemoteModel
    from models.hub import ModelHub

    monkeypatch.setenv("SECRETS_TEST_KEY", "sk-from-the-env-12345")
    settings = ModelSettings(remote_models={"r": RemoteModel(base_url="http://127.0.0.1:9", model="m",
                                                              api_key_env="SECRETS_TEST_KEY")})
    monkeypatch.delenv("SECRETS_TEST_KEY")
    assert "sk-from-the-env" not in repr(settings) and "sk-from-the-env" not in str(settings.model_dump())
    assert remote_model_keys(settings) == ["sk-from-the-env-12345"]
    engine = ModelHub(settings).text("r")
    assert engine.client.headers["Authorization"] == "Bearer sk-from-the-env-12345"
