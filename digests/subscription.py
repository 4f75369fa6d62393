"""`/subscribe` arguments: topics, then options.

    /subscribe llm, semantic leakage, spelling lang=ru daily=09:00 tz=Europe/Moscow size=5 empty=note
    /subscribe diffusion weekly=mon@18:30

Topics are comma-separated (spaces separate them when there is no comma). Options: lang=en|ru|fa|he,
daily=HH:MM or weekly=DAY@HH:MM (DAY: mon..sun or 1..7), tz=IANA zone (default UTC), size=1..20 (default 5),
empty=note|silent (what a digest with no new papers does; default note), mode=topics|profile|both (ranking by
the topics, the chat's 👍/👎 and reading list, or both; default both, which is topics while the chat has no profile)."""
import re
from dataclasses import dataclass, field

# The shared total parsers (pure functions: ASCII digits, length caps, the list of known zones).
from chatkit.errors import UserInputError
from chatkit.parsing import echo, parse_int, parse_time, parse_timezone, parse_weekday

LANGUAGES = ("en", "ru", "fa", "he")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TOPICS, MAX_TOPIC_CHARS, MAX_SIZE = 10, 64, 20
OPTION = re.compile(r"(\w+)=(\S*)")


class SubscribeError(ValueError):
    """`code` names a localized message; `detail` is the offending text (escaped by the caller)."""

    def __init__(self, code: str, detail: str = ""):
        self.code, self.detail = code, detail
        super().__init__(f"{code}: {detail}")


@dataclass
class SubscriptionSpec:
    topics: list[str] = field(default_factory=list)
    language: str = "en"
    schedule: str = "daily"
    time: str = "09:00"
    weekday: int | None = None
    timezone: str = "UTC"
    size: int = 5
    empty_policy: str = "note"
    mode: str = "both"  # ranking: topics | profile | both (digests/ranking.py)


def parse_subscribe(text: str | None, default_language: str = "en") -> SubscriptionSpec:
    text = (text or "").strip()
    if not text:
        raise SubscribeError("empty")
    spec = SubscriptionSpec(language=default_language if default_language in LANGUAGES else "en")
    options = {}
    for match in OPTION.finditer(text):
        key = match.group(1).lower()
        if key in options:
            raise SubscribeError("duplicate-option", echo(key))
        options[key] = match.group(2)
    rest = OPTION.sub(" ", text)
    parts = rest.split(",") if "," in rest else rest.split()
    spec.topics = list(dict.fromkeys(" ".join(p.split()).casefold() for p in parts if p.strip()))
    if len(spec.topics) > MAX_TOPICS:
        raise SubscribeError("too-many-topics", str(MAX_TOPICS))
    long = [t for t in spec.topics if len(t) > MAX_TOPIC_CHARS]
    if long:
        raise SubscribeError("topic-too-long", long[0][:MAX_TOPIC_CHARS] + "…")
    for key, value in options.items():
        _apply(spec, key, value)
    if not spec.topics:
        raise SubscribeError("no-topics")
    return spec


def _apply(spec: SubscriptionSpec, key: str, value: str) -> None:
    if key == "lang":
        if value.lower() not in LANGUAGES:
            raise SubscribeError("bad-language", echo(value))
        spec.language = value.lower()
    elif key == "daily":
        spec.schedule, spec.time, spec.weekday = "daily", _time(value), None
    elif key == "weekly":
        day, _, at = value.partition("@")
        spec.schedule, spec.weekday, spec.time = "weekly", _weekday(day), _time(at or "09:00")
    elif key == "tz":
        try:  # checked against the known zones, never opened as a file (a 300-character name raised OSError)
            spec.timezone = parse_timezone(value)
        except UserInputError:
            raise SubscribeError("bad-timezone", echo(value)) from None
    elif key == "size":
        try:  # ASCII digits only (`²`, `٣` and 5000-digit numbers are refused, not crashed on)
            spec.size = parse_int(value, minimum=1, maximum=MAX_SIZE)
        except UserInputError:
            raise SubscribeError("bad-size", echo(value)) from None
    elif key == "mode":
        if value not in ("topics", "profile", "both"):
            raise SubscribeError("bad-mode", echo(value))
        spec.mode = value
    elif key == "empty":
        if value not in ("note", "silent"):
            raise SubscribeError("bad-empty", echo(value))
        spec.empty_policy = value
    else:
        raise SubscribeError("unknown-option", echo(key))


def _time(value: str) -> str:
    try:
        return parse_time(value)
    except UserInputError:
        raise SubscribeError("bad-time", echo(value)) from None


def _weekday(value: str) -> int:
    try:
        return parse_weekday(value)
    except UserInputError:
        raise SubscribeError("bad-weekday", echo(value)) from None


def describe(spec) -> str:
    """A compact, language-neutral schedule line: `daily 09:00 Europe/Moscow` / `weekly mon 18:30 UTC`."""
    when = f"daily {spec.time}" if spec.schedule == "daily" else f"weekly {WEEKDAYS[spec.weekday]} {spec.time}"
    return f"{when} {spec.timezone}"
