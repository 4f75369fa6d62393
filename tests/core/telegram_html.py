"""A checker for Telegram's HTML parse mode, shared by the renderer and bad-input tests.

Telegram accepts a small tag set and only the &lt; &gt; &amp; &quot; and numeric entities; every other `<`, `>`
and `&` must be escaped, and every tag must be closed in order. `html.parser` does the tokenizing."""
import html
import re
from html.parser import HTMLParser

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code",
                "pre", "blockquote", "tg-emoji"}
NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}
_CHARREF = re.compile(r"#(\d+|[xX][0-9a-fA-F]+)")


class _Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
        self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.problems.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> does not close the innermost open tag {self.stack[-1:] or 'none'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        for char in "<>&":
            if char in data:
                self.problems.append(f"raw {char!r} in text {data[:40]!r}")
        self.text.append(data)

    def handle_entityref(self, name):
        if name not in NAMED_ENTITIES:
            self.problems.append(f"entity &{name}; is not supported")
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name):
        if not _CHARREF.fullmatch("#" + name):
            self.problems.append(f"bad numeric entity &#{name};")
        self.text.append(html.unescape(f"&#{name};"))

    def unknown_decl(self, data):
        self.problems.append(f"declaration {data[:40]!r}")

    def handle_comment(self, data):
        self.problems.append("comment")

    def handle_pi(self, data):
        self.problems.append("processing instruction")


def problems(markup: str) -> list[str]:
    """What Telegram would reject in `markup`; empty when it is valid."""
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    found = list(checker.problems)
    if checker.rawdata:  # html.parser keeps an unterminated construct ("<b", "&amp") as unparsed rest
        found.append(f"unterminated markup {checker.rawdata[:40]!r}")
    if checker.stack:
        found.append(f"unclosed tags {checker.stack}")
    return found


def visible_text(markup: str) -> str:
    """The text a user sees: tags dropped, entities decoded."""
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    return "".join(checker.text)


def assert_valid(markup: str) -> None:
    assert not problems(markup), (problems(markup), markup[:300])
