"""The one way to read numbers, times, time zones, ids and callback data out of user text, and to make text storable.

Every parser here is total: it returns a value or raises `UserInputError` (a Fluent message id and its arguments,
localized by the handler) — never ValueError, OverflowError, OSError or anything else. Rules shared by all:
ASCII digits only (`str.isdigit()` also accepts `²` and `٣`, which `int()` refuses or reads differently), the length
is capped before any conversion (a 5000-digit "number" is refused without being converted), every value is
range-checked, and identifiers fit PostgreSQL's BIGINT.

Pure functions, no aiogram and no database: every layer above the kit uses them."""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field

from chatkit.errors import UserInputError

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
MAX_TIMEZONE_CHARS = 64  # the longest IANA name is 32 characters
MAX_ECHO_CHARS = 40  # how much of a bad input an error message repeats
_DIGITS = re.compile(r"-?[0-9]{1,19}")  # 19 = len(str(INT64_MAX)): nothing longer can be in range
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_SURROGATES = re.compile("[\ud800-\udfff]")
_TIMEZONE = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Field types for callback data (aiogram CallbackData is pydantic): a forged button with a number out of range fails
# to unpack (the filter does not match) instead of reaching the database as a value BIGINT cannot hold.
TelegramId = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]  # user and chat ids (chats are negative)
RowId = Annotated[int, Field(ge=1, le=INT64_MAX)]  # our own table ids
Count = Annotated[int, Field(ge=0, le=2 ** 31 - 1)]  # offsets, page sizes
Vote = Annotated[int, Field(ge=-1, le=1)]


def _flag(value: Any) -> Any:
    """Exactly what aiogram writes for a bool ("1"/"0"): pydantic alone also reads "yes", "on", "true", "y"."""
    if isinstance(value, str) and value not in ("0", "1"):
        raise ValueError("a flag is 0 or 1")
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]  # a yes/no field of callback data


def echo(text: str) -> str:
    """The part of a bad input an error message may repeat: short, storable, one line."""
    text = clean_text(text).replace("\n", " ")
    return text if len(text) <= MAX_ECHO_CHARS else text[:MAX_ECHO_CHARS - 1] + "…"


# ---------------------------------------------------------------- numbers and ids
def parse_int(text: str | None, *, minimum: int, maximum: int) -> int:
    """An integer in [minimum, maximum] written with ASCII digits (and a leading '-' where negatives are allowed)."""
    value = (text or "").strip()
    if not _DIGITS.fullmatch(value) or (value.startswith("-") and minimum >= 0):
        raise UserInputError("input-not-a-number", "not a number", value=echo(value), min=str(minimum),
                             max=str(maximum))
    number = int(value)
    if not minimum <= number <= maximum:
        raise UserInputError("input-out-of-range", "out of range", value=echo(value), min=str(minimum),
                             max=str(maximum))
    return number


def parse_id(text: str | None, *, signed: bool = False) -> int:
    """A database or Telegram id: positive (or, for chat ids, any non-zero) and within BIGINT."""
    value = (text or "").strip()
    if not _DIGITS.fullmatch(value) or (value.startswith("-") and not signed):
        raise UserInputError("input-bad-id", "bad-id", value=echo(value))
    number = int(value)
    if number == 0 or not INT64_MIN <= number <= INT64_MAX or (number < 0 and not signed):
        raise UserInputError("input-bad-id", "bad-id", value=echo(value))
    return number


def fits_int64(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX


# ---------------------------------------------------------------- times and zones
def parse_time(text: str | None) -> str:
    """`H:MM` or `HH:MM` (24-hour) → `HH:MM`."""
    value = (text or "").strip()
    match = _TIME.fullmatch(value) if len(value) <= 5 else None
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise UserInputError("input-bad-time", "bad-time", value=echo(value))
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_weekday(text: str | None) -> int:
    """`mon`…`sun` (any case, the first three letters count) or `1`…`7` → 0…6."""
    value = (text or "").strip().lower()
    if len(value) <= 12 and value[:3] in WEEKDAYS and value.isascii() and value.isalpha():
        return WEEKDAYS.index(value[:3])
    if len(value) == 1 and value in "1234567":
        return int(value) - 1
    raise UserInputError("input-bad-weekday", "bad-weekday", value=echo(value))


# Files of the system's zone directory that `available_timezones()` lists but that are no IANA zone: `localtime` is
# the host's own setting (a symlink), `Factory` a placeholder zone ("-00"), `posixrules` a template.
NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})
UTC_SPELLINGS = frozenset({"UTC", "Etc/UTC"})


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    import zoneinfo

    zones = {name for name in zoneinfo.available_timezones()
             if name not in NOT_ZONES and not name.startswith(("posix/", "right/"))}
    return frozenset(zones) | UTC_SPELLINGS


@lru_cache(maxsize=1)
def _zones_folded() -> dict[str, str]:
    return {name.casefold(): name for name in _zones()}


def parse_timezone(text: str | None) -> str:
    """An IANA zone name (`Europe/Moscow`, any case) → its canonical spelling. Checked against the list of known
    zones, never handed to the file system as a path (a 300-character name made `ZoneInfo` raise OSError)."""
    value = (text or "").strip()
    if len(value) > MAX_TIMEZONE_CHARS or not _TIMEZONE.fullmatch(value):
        raise UserInputError("input-bad-timezone", "bad-timezone", value=echo(value))
    canonical = _zones_folded().get(value.casefold())
    if canonical is None:
        raise UserInputError("input-bad-timezone", "bad-timezone", value=echo(value))
    return canonical


# ---------------------------------------------------------------- callback data
def parse_callback(data: str | None, prefix: str, *kinds: str) -> tuple[Any, ...]:
    """`prefix:field:field…` → the fields, each read as `kinds[i]`: "id" (parse_id), "int" (a non-negative int
    below 2**31), "word" ([a-z0-9_-]{1,32}). Wrong shape → `input-stale-button` (an old or forged button)."""
    parts = (data or "").split(":")
    if len(data or "") > 64 or parts[0] != prefix or len(parts) != len(kinds) + 1:
        raise UserInputError("input-stale-button", "stale button", alert=True)
    values: list[Any] = []
    try:
        for kind, part in zip(kinds, parts[1:], strict=True):
            if kind == "id":
                values.append(parse_id(part))
            elif kind == "int":
                values.append(parse_int(part, minimum=0, maximum=2 ** 31 - 1))
            elif kind == "word":
                if not re.fullmatch(r"[a-z0-9_.\-]{1,32}", part):
                    raise UserInputError("input-stale-button", "stale button", alert=True)
                values.append(part)
            else:  # a programming error, not user input
                raise TypeError(f"unknown callback field kind {kind!r}")
    except UserInputError:
        raise UserInputError("input-stale-button", "stale button", alert=True) from None
    return tuple(values)


# ---------------------------------------------------------------- storable text
def clean_text(text: str) -> str:
    """Text every database takes (also the storage boundary's rule, `storage.schema.base`): NUL dropped
    (PostgreSQL refuses it in text, SQLite takes it, so the two backends would disagree), lone surrogates (JSON can
    carry them, UTF-8 cannot) replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii() and _SURROGATES.search(text):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def clean_payload(value: Any) -> Any:
    """`clean_text` over every string (keys too) of a JSON value; NaN and ±Infinity (Python's JSON reads them,
    PostgreSQL's JSON refuses them) become null; an integer outside BIGINT's range becomes its decimal string.

    Why a string and not null: nothing is lost, and a field that was there is not made absent. Why at all, when
    PostgreSQL's jsonb (numeric) and SQLite's JSON text would hold the number: a value copied from the payload into a
    BIGINT column fails every write about it (asyncpg and sqlite3 cannot even bind it), and Telegram sends nothing
    that large (its ids have at most 52 significant bits). A field aiogram reads as an integer turns such a string
    back into the number; the webhook refuses that update (bot/transports/telegram.py parse_update_body)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and not fits_int64(value):
        return str(value)
    if isinstance(value, dict):
        return {clean_text(key) if isinstance(key, str) else key: clean_payload(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_payload(item) for item in value]
    return value


def payload_ints_fit(value: Any) -> bool:
    """Every integer in a JSON value fits BIGINT (Telegram's ids do; a forged 10**30 user id would fail every write
    about that user, the failure record included)."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return fits_int64(value)
    if isinstance(value, dict):
        return all(payload_ints_fit(item) for item in value.values())
    if isinstance(value, list):
        return all(payload_ints_fit(item) for item in value)
    return True


# ---------------------------------------------------------------- settings
def check_url(value: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """An absolute http(s) URL with a host and a valid port, else ValueError with a reason that never repeats the
    value (a Bot API base can carry credentials, and a mistyped setting may be a pasted token)."""
    value = value.strip()
    if not value or any(ord(char) < 33 or ord(char) == 127 for char in value):
        raise ValueError("must be a URL without spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a port outside 0-65535 or not a number
        host = parts.hostname
    except ValueError:
        raise ValueError("is not a valid URL (check the brackets of an IPv6 address and that the port is "
                         "1-65535)") from None
    if parts.scheme.lower() not in schemes:
        raise ValueError(f"must start with {' or '.join(s + '://' for s in schemes)} "
                         "(e.g. http://localhost:8081)")
    if not host:
        raise ValueError("must name a host (e.g. http://localhost:8081)")
    if port == 0:
        raise ValueError("port must be 1-65535")
    return value


def check_url_settings(sections: Iterable[Any]) -> None:
    """Every URL setting of every settings section (fields named `*_url` or `*_base`, the `DIGEST_FEEDS` list, the
    `REMOTE_MODELS` endpoints), checked at start: raises ValueError("NAME: reason") without the value."""
    for section in sections:
        for name in type(section).model_fields:
            value = getattr(section, name)
            values: list[str] = []
            if isinstance(value, str) and value and (name.endswith("_url") or name.endswith("_base")):
                if name == "database_url":
                    continue  # not HTTP; checked by its own validator
                values = [value]
            elif name == "digest_feeds" and isinstance(value, str):
                values = [part.strip() for part in value.split(",") if part.strip()]
            elif name == "remote_models" and isinstance(value, dict):
                values = [getattr(model, "base_url", "") for model in value.values()]
            for url in values:
                try:
                    check_url(url)
                except ValueError as error:
                    raise ValueError(f"{name.upper()}: {error}") from None
