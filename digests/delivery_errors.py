"""What a failed digest send means for its delivery row: one table from Telegram's errors to an outcome.

RETRY_AFTER (429: wait and send again), RETRY (not delivered: 5xx, no connection; backoff), SKIP (this row fails,
the chat's next row goes on), DROP (the chat is gone or blocked the bot: it is marked inactive, which ends its
subscriptions' deliveries), UNKNOWN (it may have arrived: never resent), ABORT (the bot itself is rejected)."""
from collections.abc import Callable
from enum import Enum

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiohttp import ClientConnectorError

from chatkit.redact import redact

ERROR_LIMIT = 1000  # characters of an error kept in the table


class Outcome(Enum):
    RETRY_AFTER = "retry_after"
    RETRY = "retry"
    SKIP = "skip"
    DROP = "drop"
    UNKNOWN = "unknown"
    ABORT = "abort"


def _chat_not_found(error: BaseException) -> bool:
    return "chat not found" in getattr(error, "message", "").lower()


def _never_left(error: BaseException) -> bool:
    return isinstance(error.__cause__, ClientConnectorError)  # the connection could not even be opened


def _always(error: BaseException) -> bool:
    return True


# First match wins: subclasses before their bases (TelegramEntityTooLarge is a TelegramNetworkError by class, but
# Telegram answered it; TelegramMigrateToChat's text names the new supergroup id, its rows need new deliveries).
TABLE: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], Callable[[BaseException], bool],
                   Outcome], ...] = (
    (TelegramRetryAfter, _always, Outcome.RETRY_AFTER),
    (TelegramForbiddenError, _always, Outcome.DROP),
    (TelegramMigrateToChat, _always, Outcome.SKIP),
    (TelegramBadRequest, _chat_not_found, Outcome.DROP),
    (TelegramBadRequest, _always, Outcome.SKIP),
    ((TelegramUnauthorizedError, TelegramNotFound), _always, Outcome.ABORT),
    (TelegramEntityTooLarge, _always, Outcome.SKIP),
    (TelegramServerError, _always, Outcome.RETRY),
    (TelegramNetworkError, _never_left, Outcome.RETRY),
    (TelegramNetworkError, _always, Outcome.UNKNOWN),  # a timeout, a connection dropped mid-request
    ((ClientDecodeError, TelegramAPIError), _always, Outcome.UNKNOWN),  # an answer we cannot read or do not know
)


def classify(error: BaseException) -> Outcome | None:
    """The outcome of `error`, or None for an error that is not Telegram's (a bug: the row is `unknown`, and the
    error goes on up)."""
    for kinds, applies, outcome in TABLE:
        if isinstance(error, kinds) and applies(error):
            return outcome
    return None


def describe(error: BaseException) -> str:
    """The error for the table: its class and Telegram's words, redacted (aiohttp errors can carry the request URL,
    which holds the bot token)."""
    return redact(f"{type(error).__name__}: {getattr(error, 'message', None) or error}")[:ERROR_LIMIT]
