"""Property tests (hypothesis) of the output rules and of argument parsing.

Renderer: any string in → every chunk is valid Telegram HTML, at most the limit in UTF-16 units, shows something,
and the chunks are the text's own pieces in order (only whitespace may fall at a cut). Small limits make short
examples cross many cuts; the 4096 limit gets long generated texts."""
import re

from hypothesis import HealthCheck, example, given, settings, strategies as st

from chatkit.render import CAPTION_LIMIT, MESSAGE_LIMIT, cut_caption, escape, split_message, utf16_len
from handlers.commands import command_of
from handlers.fallback import addressed_to_other_bot
from handlers.i18n import LANGUAGES, normalize_language
from tests.core.telegram_html import assert_valid, visible_text

# Characters that stress the renderer: HTML metacharacters, newlines, RTL letters, bidi controls, emoji (two
# UTF-16 units each, some with joiners), combining marks; mixed with anything hypothesis likes.
TRICKY = "<>&\"'\n\n \t;#x/abc" + "שלוםسلام" + "\u200f\u2068\u2069" + "😀👩‍🔬🇮🇷" + "é\u0301"
tricky_text = st.text(alphabet=st.one_of(st.sampled_from(TRICKY), st.characters(codec="utf-8")), max_size=400)
any_text = st.one_of(st.text(max_size=300), tricky_text)
small_limit = st.integers(min_value=48, max_value=300)


def assert_pieces_in_order(chunks: list[str], text: str) -> None:
    """Each chunk shows a contiguous piece of `text`, in order; what lies between them is whitespace only."""
    position = 0
    for chunk in chunks:
        shown = visible_text(chunk)
        assert shown.strip(), f"chunk shows nothing: {chunk!r}"
        found = text.find(shown, position)
        assert found >= 0, f"chunk {shown[:60]!r} is not the next piece of the text"
        assert not text[position:found].strip(), f"dropped {text[position:found][:60]!r}"
        position = found + len(shown)
    assert not text[position:].strip(), f"dropped the end {text[position:][:60]!r}"


def assert_chunks_ok(chunks: list[str], limit: int) -> None:
    for chunk in chunks:
        assert utf16_len(chunk) <= limit, (utf16_len(chunk), limit)
        assert_valid(chunk)
        assert visible_text(chunk).strip(), f"Telegram rejects an empty message: {chunk!r}"


@given(text=any_text, limit=small_limit)
# Regression: a cut at an early newline left no room for the entity that came next (the chunk grew past the limit).
@example(text="\n" + "a" * 60 + "&" + "b" * 10, limit=64)
def test_split_any_escaped_text_small_limits(text, limit):
    chunks = split_message(escape(text), limit)
    assert_chunks_ok(chunks, limit)
    assert_pieces_in_order(chunks, text)


@given(unit=st.text(alphabet=st.sampled_from(TRICKY.replace("\n", "")), min_size=1, max_size=40),
       repeat=st.integers(min_value=100, max_value=1500))
@settings(max_examples=25, deadline=None)
def test_split_long_lines_without_newlines(unit, repeat):
    text = (unit * repeat)[:20_000]
    chunks = split_message(escape(text))
    assert_chunks_ok(chunks, MESSAGE_LIMIT)
    assert_pieces_in_order(chunks, text)
    if utf16_len(escape(text)) > MESSAGE_LIMIT:
        assert len(chunks) >= 2


@given(lines=st.lists(tricky_text, min_size=1, max_size=60), width=st.integers(min_value=1, max_value=120))
@settings(max_examples=30, deadline=None)
def test_split_long_messages_at_the_real_limit(lines, width):
    # Many lines, many of them long: the shape of /history, /help and model output.
    text = "\n".join(line * width for line in lines)[:30_000]
    _check_real_limit(text)


def _check_real_limit(text: str) -> None:
    chunks = split_message(escape(text))
    assert_chunks_ok(chunks, MESSAGE_LIMIT)
    assert_pieces_in_order(chunks, text)


def test_split_entity_right_after_an_early_cut_stays_within_the_limit():
    _check_real_limit("\n" + "a" * 4095 + "&" + "b" * 10)


def test_split_prefers_line_boundaries():
    lines = [f"line {index}: " + "x" * 70 for index in range(200)]
    chunks = split_message("\n".join(lines))
    assert len(chunks) >= 4
    for chunk in chunks:
        assert utf16_len(chunk) <= MESSAGE_LIMIT
        assert chunk.startswith("line ") and chunk.endswith("x"), "a chunk was cut inside a line"


# --- our own markup: nested <b><i><code> around escaped text ---
markup_tree = st.recursive(
    any_text.map(lambda text: ("text", text)),
    lambda children: st.tuples(st.sampled_from(["b", "i", "code", "u", "s"]), st.lists(children, max_size=4)),
    max_leaves=12,
)


def render_tree(node) -> tuple[str, list[tuple[str, tuple[str, ...]]]]:
    """(markup, [(character, enclosing tags)]) for a generated tree."""
    def walk(node, tags):
        if node[0] == "text":
            return escape(node[1]), [(char, tags) for char in node[1]]
        name, children = node
        parts = [walk(child, tags + (name,)) for child in children]
        return (f"<{name}>" + "".join(p[0] for p in parts) + f"</{name}>",
                [styled for p in parts for styled in p[1]])
    return walk(node, ())


def styled_characters(markup: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every visible non-whitespace character of valid markup with the tags around it."""
    styled, stack = [], []
    for match in re.finditer(r"<(/?)([a-z-]+)>|(&[^;]+;)|([^<&]+)", markup):
        closing, name, entity, text = match.groups()
        if name:
            if closing:
                stack.pop()
            else:
                stack.append(name)
        else:
            styled += [(char, tuple(stack)) for char in visible_text(entity or text) if not char.isspace()]
    return styled


@given(tree=markup_tree, limit=st.integers(min_value=64, max_value=400))
# Regression: a chunk of only a newline inside <b> ("<b>\n</b>"), which Telegram rejects as empty.
@example(tree=("b", [("text", "\n" + "a" * 70)]), limit=64)
@settings(max_examples=150, deadline=None)
def test_split_nested_markup_keeps_formatting(tree, limit):
    markup, styled = render_tree(tree)
    chunks = split_message(markup, limit)
    assert_chunks_ok(chunks, limit)
    expected = [(char, tags) for char, tags in styled if not char.isspace()]
    assert [s for chunk in chunks for s in styled_characters(chunk)] == expected


def test_split_nested_markup_long_line_at_the_real_limit():
    markup = "<b>bold <i>italic <code>" + "a&lt;b " * 1500 + "</code> tail</i></b>"
    chunks = split_message(markup)
    assert len(chunks) >= 3
    assert_chunks_ok(chunks, MESSAGE_LIMIT)
    for chunk in chunks:
        assert chunk.startswith("<b>") and chunk.endswith("</b>")


@given(text=any_text, repeat=st.integers(min_value=1, max_value=40))
@settings(deadline=None)
def test_cut_caption(text, repeat):
    text = text * repeat
    caption = cut_caption(escape(text))
    assert utf16_len(caption) <= CAPTION_LIMIT
    assert_valid(caption)
    if utf16_len(escape(text)) <= CAPTION_LIMIT:
        assert caption == escape(text)
    elif caption:
        shown = visible_text(caption)
        assert shown.endswith("…")
        assert text.lstrip().startswith(shown[:-1].strip())


def test_cut_caption_of_only_whitespace_is_empty_not_an_error():
    assert cut_caption(" " * 3000) == ""


# --- argument parsing ---
@given(code=st.text(max_size=20))
def test_normalize_language_never_invents_a_language(code):
    assert normalize_language(code) in (*LANGUAGES, None)


@given(lang=st.sampled_from(LANGUAGES), region=st.sampled_from(["", "-RU", "_IR", "-il", "-Latn-US"]),
       upper=st.booleans())
def test_normalize_language_accepts_regional_codes(lang, region, upper):
    code = lang + region
    assert normalize_language(code.upper() if upper else code) == lang


username = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{3,20}bot", fullmatch=True)


@given(command=st.from_regex(r"[a-z_]{1,20}", fullmatch=True), bot=username, other=username,
       args=st.text(max_size=30))
def test_commands_addressed_to_another_bot(command, bot, other, args):
    def text(mention: str) -> str:
        return f"/{command}@{mention} {args}"

    assert not addressed_to_other_bot(text(bot), bot)
    assert not addressed_to_other_bot(text(bot.upper()), bot)  # mentions are case-insensitive
    assert addressed_to_other_bot(text(other), bot) == (other.lower() != bot.lower())
    assert not addressed_to_other_bot(f"/{command} {args}", bot)


def _expected_history_size(argument: str) -> int | None:
    """What `/history <argument>` should show: a page size, None for the default, or 0 for "bad number"."""
    rest = f"/history {argument}".split(maxsplit=1)[1:]
    if not rest:
        return None
    try:
        size = int(rest[0].strip())
    except ValueError:
        return 0
    return size if 1 <= size <= 50 else 0


history_argument = st.one_of(st.integers(min_value=-100, max_value=100).map(str),
                             st.integers().map(lambda n: f" {n} "), st.text(max_size=40))


@given(argument=history_argument)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_history_argument_parsing(harness, argument):
    calls = await harness.chat(user_id=5).send(f"/history {argument}")
    replies = [call.text for call in calls if call.name == "sendMessage"]
    assert len(replies) == 1
    assert_valid(replies[0])
    expected = _expected_history_size(argument)
    assert ("1 to 50" in replies[0]) == (expected == 0), (argument, replies[0])


@given(argument=st.one_of(st.sampled_from(["ru", "RU", "fa-IR", "he", "iw", "en-GB"]), st.text(max_size=40)))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_lang_argument_parsing(harness, argument):
    calls = await harness.chat(user_id=6).send(f"/lang {argument}")
    replies = [call for call in calls if call.name == "sendMessage"]
    assert len(replies) == 1
    assert_valid(replies[0].text)
    rest = f"/lang {argument}".split(maxsplit=1)[1:]
    code = normalize_language(rest[0].strip()) if rest else None
    if not rest:
        assert replies[0].method.reply_markup is not None  # the language keyboard
    elif code is None:
        assert "en, ru, fa, he" in replies[0].text
    else:
        from handlers.i18n import LANGUAGE_NAMES, Translator

        assert replies[0].text == Translator(code)("lang-set", language=LANGUAGE_NAMES[code])


@given(text=st.text(max_size=50))
def test_command_of_splits_command_and_arguments(text):
    from aiogram.types import Chat, Message

    message = Message(message_id=1, date=0, chat=Chat(id=1, type="private"), text="/" + text)
    command, arguments = command_of(message)
    assert "@" not in command and " " not in command
    assert arguments == arguments.strip()
