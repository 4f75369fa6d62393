"""The one redaction function: every known secret (and the forms it shows up in) replaced by `[redacted]`.

bot/redact.py fills the registry at start (environment, `.env`, parsed settings) and puts `redact` on every exit of
the process; the digest broadcaster uses it for the error texts it stores."""
from __future__ import annotations

import threading
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "[redacted]"
MIN_LENGTH = 6  # shorter values would redact ordinary words
_secrets: list[str] = []
_lock = threading.Lock()


def add(secrets: Iterable[str]) -> None:
    """Register secrets (and the forms they show up in: the part of a bot token after the colon, URL-quoted)."""
    with _lock:
        known = set(_secrets)
        for secret in secrets:
            if not secret:
                continue
            variants = {secret, quote(secret, safe=""), quote(secret, safe="/:")}
            if ":" in secret:  # a bot token `123456:AAH…`: its secret part alone is a secret too
                variants.add(secret.split(":", 1)[1])
            known |= {variant for variant in variants if len(variant) >= MIN_LENGTH}
        _secrets[:] = sorted(known, key=len, reverse=True)


def known() -> list[str]:
    return list(_secrets)


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    for secret in (_secrets if secrets is None else secrets):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text
