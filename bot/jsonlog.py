"""`LOG_FORMAT=json`: one JSON object per log line, for log collectors (Loki, Elasticsearch, CloudWatch).

The redaction filter (bot/redact.py) runs on the handler before this formatter, so `message` and the traceback are
already redacted; they are redacted once more here, because a JSON line is often shipped off the machine."""
from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from bot import redact

# LogRecord attributes that are not `extra=` fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact.redact(record.getMessage()),
        }
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact.redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact.redact(record.stack_info)
        for key, value in vars(record).items():  # `extra=` fields (update_id, chat_id, ...) become keys
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else redact.redact(str(value))
        return json.dumps(entry, ensure_ascii=False)


# Third-party loggers whose lines at DEBUG carry user content: aiosqlite logs every statement with its parameters (an
# update body, a user's text). Capped at INFO whatever LOG_LEVEL says: no log line ever holds an update body.
CHATTY = {"aiosqlite": logging.INFO, "sqlalchemy.engine": logging.WARNING, "sqlalchemy.pool": logging.WARNING}


def cap_third_party() -> None:
    """Apply CHATTY, send Python warnings through logging, and the lines of transformers, torch and huggingface_hub
    through our handlers, not their own (models/loading.py adopt_library_logging, again after each load): all of
    it redacted, and JSON with LOG_FORMAT=json."""
    from models.loading import adopt_library_logging

    for name, level in CHATTY.items():
        logging.getLogger(name).setLevel(level)
    logging.captureWarnings(True)
    adopt_library_logging()


def progress_bars_off_unless_terminal() -> None:
    """Progress bars (tqdm: transformers, huggingface_hub, sentence-transformers) only when stdout is a terminal: in a
    log file or a collector they are carriage-return lines that are not log lines (nor JSON). Both libraries read
    these variables when they are imported: call this first."""
    import os
    import sys

    if not sys.stdout.isatty():
        os.environ.setdefault("TQDM_DISABLE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def use_json(logger: logging.Logger | None = None) -> None:
    """Put the JSON formatter on every handler of `logger` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        handler.setFormatter(JsonFormatter())


def json_excepthook() -> None:
    """An exception that reaches the top of the process (or of a thread) is logged as one JSON line (through the
    root logger: redacted, with its traceback in `exception`) instead of Python's plain-text traceback."""
    import sys
    import threading

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        logging.getLogger("bot").critical("unhandled %s", kind.__name__, exc_info=(kind, value, tb))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            hook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = hook
    threading.excepthook = thread_hook
