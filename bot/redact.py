"""Keeps secrets out of logs: any configured secret that shows up in a log line (a URL with the bot token in it,
an echoed header) is replaced before the line is written."""
import logging

from pydantic import SecretStr
from pydantic_settings import BaseSettings


def secrets_of(*settings: BaseSettings) -> list[str]:
    found = []
    for object_ in settings:
        for name in type(object_).model_fields:
            value = getattr(object_, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.append(value.get_secret_value())
    return [secret for secret in found if len(secret) >= 6]


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        text = message
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, redacted, so the handler does not format the raw one later.
            formatted = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                formatted = formatted.replace(secret, "[redacted]")
            record.exc_text, record.exc_info = formatted, None
        if text != message or record.args:
            record.msg, record.args = text, None
        return True


def install(secrets: list[str]) -> None:
    redactor = RedactingFilter(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
