"""The one answer to "which command is this?": `/name@mention args` read from any text, total for every string."""
from dataclasses import dataclass


@dataclass(frozen=True)
class ParsedCommand:
    name: str  # lower-cased, without the slash; "" for a bare "/", "/ " or "/@bot"
    mention: str | None  # the @username after the name, as written (None when there is none, or a bare "@")
    args: str  # everything after the first run of whitespace, stripped ("" when none)


def parse_command(text: str | None) -> ParsedCommand | None:
    """`/leak@thisbot yellow | x` → ParsedCommand("leak", "thisbot", "yellow | x"); None when the text does not start
    with "/". The head ends at the first whitespace of any kind (a space, a newline, U+00A0, U+3000), as aiogram's
    `Command` filter reads it (an empty mention is no mention), so a command this parser names is the one the
    routers answer."""
    if not text or not text.startswith("/"):
        return None
    parts = text.split(maxsplit=1)  # never empty: the text starts with "/", which is not whitespace
    head, args = parts[0], (parts[1].strip() if len(parts) > 1 else "")
    name, _, mention = head[1:].partition("@")
    return ParsedCommand(name.lower(), mention or None, args)
