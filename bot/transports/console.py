"""Offline console chat: each input line becomes a real Update; every Bot API call is printed.

Type a message or a command. Inline buttons are printed numbered; type `!N` to press button N of the latest
keyboard. With stdin not a terminal, lines are read until EOF and the program exits 0."""
import asyncio
import html
import re
import sys
import threading
from pathlib import Path

from aiogram.methods import AnswerCallbackQuery, SendChatAction
from aiogram.types import User

from bot.app import create_bot
from bot.config import AppSettings
from bot.runtime import runtime
from bot.shutdown import Shutdown
from bot.transports.offline import OfflineChat, OfflineUser, RecordedCall, RecordingSession

BOT_USERNAME = "paper_demo_bot"


def plain(markup: str) -> str:
    """Telegram HTML as terminal text: tags dropped (bold kept as ANSI when on a terminal), entities decoded."""
    bold = sys.stdout.isatty()
    text = re.sub(r"<b>|<strong>", "\033[1m" if bold else "", markup or "")
    text = re.sub(r"</b>|</strong>", "\033[0m" if bold else "", text)
    text = re.sub(r"<a href=\"([^\"]*)\">(.*?)</a>", r"\2 (\1)", text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


class ConsoleSession(RecordingSession):
    def on_call(self, call: RecordedCall) -> None:
        name, method = call.name, call.method
        if name in ("sendChatAction", "getMe", "setMyCommands", "answerCallbackQuery") and not (
                name == "answerCallbackQuery" and getattr(method, "text", None)):
            if isinstance(method, SendChatAction):
                print(f"  … {method.action}", flush=True)
            return
        if isinstance(method, AnswerCallbackQuery):
            print(f"  [popup] {method.text}", flush=True)
            return
        prefix = {"editMessageText": "[edited]", "editMessageCaption": "[edited caption]"}.get(name, "bot:")
        body = plain(call.text) if call.text else ""
        print(f"{prefix} {body}".rstrip(), flush=True)
        captions = [getattr(item, "caption", None) for item in getattr(method, "media", None) or []]
        for index, (label, path) in enumerate(call.files.items()):
            caption = captions[index] if index < len(captions) and captions[index] else ""
            print(f"  [{label}] {path}" + (f"  {plain(caption)}" if caption else ""), flush=True)
        markup = getattr(method, "reply_markup", None)
        if markup is not None and hasattr(markup, "inline_keyboard"):
            buttons = [button.text for row in markup.inline_keyboard for button in row]
            print("  " + "  ".join(f"[{i + 1}] {text}" for i, text in enumerate(buttons)), flush=True)


async def run_console(config: AppSettings, *, user_id: int, language: str | None, chat_type: str, admin: bool,
                      stay: float = 0.0) -> int:
    config = config.updated(bot_username=config.bot.bot_username or BOT_USERNAME)
    if admin:
        config = config.updated(admin_ids=config.bot.admin_ids | {user_id})
    settings = config.bot
    bot_user = User(id=42, is_bot=True, first_name="Paper demo bot", username=settings.bot_username)
    session = ConsoleSession(bot_user, output_dir=Path(settings.console_output_dir), admin_ids={user_id})
    bot = create_bot(settings, session=session)
    interactive = sys.stdin.isatty()
    # With the console's Bot the digest scheduler runs here too: scheduled digests are printed like any message.
    async with runtime(config, bot=bot) as rt:
        # Offline there is no arXiv: the bundled sample papers and channel posts give /digest something to show.
        await rt.dispatcher["digests"].load_samples()
        chat = OfflineChat(rt.dispatcher, bot, session, chat_type=chat_type,
                           user=OfflineUser(id=user_id, language_code=language))
        rt.dispatcher["bot_username"] = settings.bot_username
        if interactive:
            print(f"Offline console as user {user_id} in a {chat_type} chat. Try /start, /help; "
                  "!N presses button N; Ctrl-D quits.", flush=True)
        lines = _stdin_lines()
        shutdown = Shutdown().install()  # SIGTERM/SIGINT: stop reading, let the work in flight finish, close
        stopping = asyncio.create_task(shutdown.wait())
        while True:
            if interactive:
                print("you> ", end="", flush=True)
            reading = asyncio.create_task(lines.get())
            await asyncio.wait([reading, stopping], return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                break
            line = reading.result()
            if line is None:
                break
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if re.fullmatch(r"![0-9]{1,4}", line.strip()):
                # The latest message that still shows a keyboard (an edit may have removed the one pressed last).
                message = chat.last_keyboard_message()
                index = int(line.strip()[1:]) - 1
                markup = message.reply_markup if message is not None else None
                buttons = [b for row in markup.inline_keyboard for b in row] if markup is not None else []
                if message is None or not 0 <= index < len(buttons):
                    print("  (no such button)", flush=True)
                    continue
                await chat.press(message, index)
            else:
                await chat.send(line)
        stopping.cancel()
        if shutdown.requested.is_set():
            print(f"  ({shutdown.signal_name}: stopping)", file=sys.stderr, flush=True)
            await rt.dispatcher["jobs"].cancel_all()
        await _wait_background(rt.dispatcher)
        if stay > 0:
            # Scripted demos of scheduled work: keep the scheduler running a while after the input ends.
            await asyncio.sleep(stay)
    return 0


def _stdin_lines() -> "asyncio.Queue[str | None]":
    """Lines of stdin (None at EOF), read by a daemon thread: a signal can stop the console while a read is
    pending, and the process still exits (an executor thread would keep it waiting for the next line)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        while True:
            line = sys.stdin.readline()
            loop.call_soon_threadsafe(queue.put_nowait, line or None)
            if not line:
                return

    threading.Thread(target=read, name="console-stdin", daemon=True).start()
    return queue


async def _wait_background(dp) -> None:
    """Let background work started by handlers (benchmarks, digests) finish before the console exits."""
    await dp["jobs"].drain()
