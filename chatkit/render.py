"""Output rules for Telegram HTML: escape everything that is not ours, split long messages without breaking tags."""
import html
import re

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024

# Telegram's HTML subset; anything else in our own templates is a bug.
_TAG = re.compile(r"<(/?)([a-z-]+)(\s[^<>]*)?>|&(?:[a-z]+|#\d+|#x[0-9a-f]+);", re.IGNORECASE)
_ONLY_TAGS = re.compile(r"<[^<>]*>")


def escape(text: object) -> str:
    """Escape a user- or model-provided string for HTML parse mode."""
    return html.escape(str(text), quote=True)


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _tokens(markup: str) -> list[tuple[str, str, str | None, bool]]:
    """Split markup into (kind, raw, tag name, closing) tokens: kind is 'tag', 'entity' or 'text'."""
    tokens: list[tuple[str, str, str | None, bool]] = []
    position = 0
    for match in _TAG.finditer(markup):
        if match.start() > position:
            tokens.append(("text", markup[position:match.start()], None, False))
        if match.group(2):
            tokens.append(("tag", match.group(0), match.group(2).lower(), bool(match.group(1))))
        else:
            tokens.append(("entity", match.group(0), None, False))
        position = match.end()
    if position < len(markup):
        tokens.append(("text", markup[position:], None, False))
    return tokens


def split_message(markup: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split HTML into chunks of at most `limit` UTF-16 units, preferring line boundaries.

    Tags open at a cut are closed at the end of the chunk and reopened at the start of the next, so every chunk is
    valid on its own; tags and entities (&amp;) are never cut."""
    if utf16_len(markup) <= limit:
        return [markup] if _ONLY_TAGS.sub("", markup).strip() else []
    pieces: list[tuple[str, str | None, bool]] = []  # (raw, tag name or None, closing)
    for kind, raw, name, closing in _tokens(markup):
        if kind == "text":
            pieces.extend((char, None, False) for char in raw)
        else:
            pieces.append((raw, name, closing))

    chunks: list[str] = []
    parts: list[str] = []
    length = 0
    stack: list[tuple[str, str]] = []  # open tags at the end of `parts`: (name, opening raw)
    reopened = 0  # how many leading parts are reopened tags (a cut there makes no progress)
    best: tuple[int, list[tuple[str, str]]] | None = None  # a cut just after a newline, and the tags open there

    def closers(tags: list[tuple[str, str]]) -> str:
        return "".join(f"</{name}>" for name, _ in reversed(tags))

    for raw, name, closing in pieces:
        after = list(stack)
        if name is not None:
            if closing:
                for index in range(len(after) - 1, -1, -1):
                    if after[index][0] == name:
                        del after[index]
                        break
            else:
                after.append((name, raw))
        # `while`, not `if`: a cut at an early newline may leave too little room for `raw` (an entity, a tag),
        # and then the rest is cut again where it stands.
        while length + utf16_len(raw) + utf16_len(closers(after)) > limit and len(parts) > reopened:
            cut, tags = best if best is not None and best[0] > reopened else (len(parts), list(stack))
            chunks.append("".join(parts[:cut]) + closers(tags))
            parts = [opening for _, opening in tags] + parts[cut:]
            reopened = len(tags)
            length = sum(utf16_len(part) for part in parts)
            best = None
        parts.append(raw)
        length += utf16_len(raw)
        stack = after
        if raw == "\n":
            best = (len(parts), list(stack))
    chunks.append("".join(parts))
    cleaned = [chunk.strip("\n") if not _TAG.search(chunk) else chunk for chunk in chunks]
    # A chunk that shows nothing (only whitespace inside tags, e.g. "<b>\n</b>") is rejected by Telegram as empty.
    return [chunk for chunk in cleaned if _ONLY_TAGS.sub("", chunk).strip()]


def cut_caption(markup: str, limit: int = CAPTION_LIMIT) -> str:
    """The first `limit` units of a caption, ending in an ellipsis when cut."""
    if utf16_len(markup) <= limit:
        return markup
    chunks = split_message(markup, limit - 1)
    return chunks[0].rstrip() + "…" if chunks else ""  # nothing visible (all whitespace): no caption


# Bidi isolation for mixed-direction lines (a Latin model name inside a Persian sentence, say).
FSI, PDI = "\u2068", "\u2069"


def isolate(text: str) -> str:
    return f"{FSI}{text}{PDI}"


def bar(fraction: float, width: int = 10) -> str:
    """A fixed-width text bar (▰▱) for similarities and scores in [0, 1]."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "▰" * filled + "▱" * (width - filled)
