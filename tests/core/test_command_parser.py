"""The one command parser (chatkit/command.py): total for every string, and the same reading as aiogram's `Command`
filter, so commands, quota, metrics, the guard and the inbox agree with the routers on which command a text is.
The console test runs `python -m bot console` on the inputs that crashed the metrics middleware ("/ ")."""
import html
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiogram.filters import Command
from aiogram.types import Chat, Message, Update
from hypothesis import example, given, strategies as st

from bot.middlewares.metrics import command_label
from chatkit.command import ParsedCommand, parse_command
from handlers.commands import command_of
from handlers.i18n import Translator

ROOT = Path(__file__).resolve().parents[2]
WHITESPACE = " \t\n\r\u00a0\u2000\u2028\u3000\x1c\x85"
EDGES = ["/", "/ ", "/@", "/\u00a0", "/\u3000", "/\x00", "/\ud800", "/@\ud800 x", "/" + "a" * 5000,
         "/" + " " * 5000, "/leak@" + "b" * 5000 + " x", "/\x00leak", "/ leak"]
commandish = st.one_of(
    st.text(max_size=200).map(lambda text: "/" + text),
    st.text(alphabet=st.sampled_from("/@_aZ9" + WHITESPACE + "\x00\ud800é"), max_size=60),
    st.text(max_size=200),
)


@pytest.mark.parametrize("text", EDGES)
def test_every_edge_is_a_command_with_a_name_that_may_be_empty(text):
    parsed = parse_command(text)
    assert parsed is not None
    assert not any(char.isspace() for char in parsed.name) and "@" not in parsed.name


@pytest.mark.parametrize(("text", "expected"), [
    ("/", ParsedCommand("", None, "")),
    ("/ ", ParsedCommand("", None, "")),
    ("/@", ParsedCommand("", None, "")),
    ("/\u00a0args", ParsedCommand("", None, "args")),
    ("/\u3000", ParsedCommand("", None, "")),
    ("/LEAK@ThisBot  yellow | He works as a ", ParsedCommand("leak", "ThisBot", "yellow | He works as a")),
    ("/spell\nstrawberry", ParsedCommand("spell", None, "strawberry")),
    ("/history@", ParsedCommand("history", None, "")),
    ("hello /leak", None),
    ("", None),
    (None, None),
])
def test_examples(text, expected):
    assert parse_command(text) == expected


@given(text=commandish)
@example(text="/ ")
@example(text="/\u3000\u3000x")
def test_total_and_the_same_reading_as_aiogram(text):
    parsed = parse_command(text)
    if not text.startswith("/"):
        assert parsed is None
        return
    assert parsed is not None
    assert parsed.name == parsed.name.lower() and parsed.args == parsed.args.strip()
    assert not any(char.isspace() or char == "@" for char in parsed.name)
    assert parsed.mention is None or (parsed.mention and not any(char.isspace() for char in parsed.mention))
    theirs = Command.extract_command(text)  # what the routers' Command filter matches on
    assert (parsed.name, parsed.mention) == (theirs.command.lower(), theirs.mention)
    assert parsed.args == (theirs.args or "").strip()


@given(text=commandish)
@example(text="/ ")
@example(text="/\u00a0")
def test_every_reader_of_a_command_takes_any_text(text):
    """The metrics label (it raised IndexError on "/ "), and the history's (command, arguments)."""
    message = Message(message_id=1, date=0, chat=Chat(id=1, type="private"), text=text)
    label = command_label(Update(update_id=1, message=message), frozenset({"leak", "help"}))
    parsed = parse_command(text)
    assert label == ("text" if parsed is None else parsed.name if parsed.name in ("leak", "help")
                     else "unknown_command")
    command, arguments = command_of(message)
    assert (command, arguments) == (("text", "") if parsed is None else (parsed.name, parsed.args))


def test_the_console_answers_bare_slashes_without_a_traceback(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "BOT_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    completed = subprocess.run([sys.executable, "-m", "bot", "console"], input="/ \n/\n/@\n/\u00a0\n/\u3000\n",
                               capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr and "Error" not in completed.stderr, completed.stderr
    replies = [line for line in completed.stdout.splitlines() if line.startswith("bot:")]
    assert len(replies) == 5, completed.stdout  # one answer per line
    apology = html.unescape(Translator("en")("error-apology"))
    assert not any(apology in reply for reply in replies), completed.stdout
