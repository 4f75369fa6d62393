"""Keeps secrets out of every exit: log lines, tracebacks that reach `sys.excepthook` or `threading.excepthook`,
the asyncio loop's exception handler, warnings, and finally whatever is written to stdout/stderr.

Secrets are known twice: early, from the environment and `.env` by name (`BOT_TOKEN`, `WEBHOOK_SECRET`, anything
named `*_TOKEN`, `*_SECRET`, `*_KEY`, `*_PASSWORD`, the password of `DATABASE_URL`) before any setting is parsed, so a
setting that fails to parse cannot print one; then from the parsed settings (`SecretStr` fields). The registry and
`redact` itself live in chatkit/redact.py (the digest broadcaster uses them too)."""
from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import sys
import threading
import traceback
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from chatkit.redact import MIN_LENGTH, REDACTED, add, known, redact

SECRET_NAME = re.compile(r"(^|_)(TOKEN|SECRET|KEY|PASSWORD|PASSWD|API_KEY)$", re.IGNORECASE)


def secrets_of(*settings: BaseSettings) -> list[str]:
    found = []
    for object_ in settings:
        for name in type(object_).model_fields:
            value = getattr(object_, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.append(value.get_secret_value())
    return [secret for secret in found if len(secret) >= MIN_LENGTH]


def environment_secrets(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> list[str]:
    """Secret-looking values of the environment and of `env_file`, by variable name."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        try:
            from dotenv import dotenv_values

            values.update({k: v for k, v in dotenv_values(env_file).items() if v})
        except Exception:  # noqa: BLE001 - an unreadable .env is reported by the settings loader
            pass
    values.update(environ if environ is not None else os.environ)
    found = [value for name, value in values.items() if SECRET_NAME.search(name)]
    for name in ("DATABASE_URL", "TEST_POSTGRES_URL"):
        if values.get(name):
            try:
                password = urlsplit(values[name]).password
            except ValueError:
                password = None
            if password:
                found.append(password)
    return found


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: list[str] | None = None):
        super().__init__()
        if secrets:
            add(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not known():
            return True
        message = record.getMessage()
        text = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, redacted, so the handler does not format the raw one later.
            record.exc_text, record.exc_info = redact(logging.Formatter().formatException(record.exc_info)), None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        if text != message or record.args:
            record.msg, record.args = text, None
        return True


class RedactingStream(io.TextIOBase):
    """stdout/stderr that redact what is written: the last line of defence (a `print`, a library writing to
    stderr directly, Python's own last-chance traceback)."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    @property
    def buffer(self) -> Any:
        return getattr(self._stream, "buffer", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))
    sys.stderr.flush()


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
    sys.stderr.write(redact(f"Exception in thread {name}:\n{text}"))
    sys.stderr.flush()


_original_showwarning = warnings.showwarning


def _showwarning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:
    text = redact(warnings.formatwarning(message, category, filename, lineno, line))
    target = file if file is not None else sys.stderr
    try:
        target.write(text)
    except OSError:
        pass


def loop_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """asyncio's handler for errors nobody awaited ("Task exception was never retrieved"), redacted and logged."""
    message = redact(str(context.get("message") or "unhandled error in the event loop"))
    error = context.get("exception")
    if error is not None:
        text = redact("".join(traceback.format_exception(type(error), error, error.__traceback__)))
        logging.getLogger("asyncio").error("%s\n%s", message, text)
    else:
        logging.getLogger("asyncio").error("%s", message)


def install_hooks() -> None:
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    warnings.showwarning = _showwarning
    logging.captureWarnings(False)


def install_streams() -> None:
    if not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout)
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)


def install_on_loop(loop: asyncio.AbstractEventLoop | None = None) -> None:
    (loop or asyncio.get_running_loop()).set_exception_handler(loop_exception_handler)


def install_early(env_file: str | Path | None = ".env") -> None:
    """First thing at start, before any setting is parsed: secrets by name from the environment, every hook."""
    add(environment_secrets(env_file=env_file))
    install_hooks()
    install_streams()


def install(secrets: list[str]) -> None:
    """After the settings are parsed: their secrets too, and a filter on every logging handler."""
    add(secrets)
    redactor = RedactingFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    install_hooks()


__all__ = ["REDACTED", "RedactingFilter", "RedactingStream", "add", "environment_secrets", "install",
           "install_early", "install_hooks", "install_on_loop", "install_streams", "known", "redact", "secrets_of"]
