"""/digest previews through the real dispatcher with a remote summary model: the loopback fake OpenAI-compatible
server (fakes/openai_api.py) serves a chat model whose answers are canned sentences in the requested language.
Prints the exact HTML text of each message the bot sends (docs/digests.md, "Summaries written by a model").

    python bench/digest_preview.py --lang fa --lang he
    python bench/digest_preview.py --lang fa --model gemma-3-270m   # a local model instead (what the preview says)
"""
import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from aiogram.types import User

from bot.app import create_bot, create_dispatcher
from bot.config import AppSettings
from bot.transports.offline import OfflineChat, OfflineUser, RecordingSession
from fakes.openai_api import FakeOpenAI
from models.config import ModelSettings, RemoteModel
from models.hub import ModelHub
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade


async def main(languages: list[str], model: str) -> None:
    server = await FakeOpenAI().start()
    remote = {"remote": RemoteModel(base_url=server.base_url, model="Qwen/Qwen2.5-7B-Instruct", prompt_style="chat")}
    hub = ModelHub(ModelSettings(remote_models=remote))
    for language in languages:
        directory = Path(tempfile.mkdtemp())
        config = AppSettings.load(env_file=None, database_url=f"sqlite+aiosqlite:///{directory}/bot.sqlite3",
                                  bot_username="paper_demo_bot", console_output_dir=directory,
                                  digest_summary_model=model, remote_models=remote,
                                  digest_summary_timeout_s=600)
        engine = create_engine(config.bot.database_url, pool=config.bot.db_pool)
        await upgrade(engine)
        session = RecordingSession(User(id=42, is_bot=True, first_name="Paper demo bot", username="paper_demo_bot"),
                                   output_dir=directory)
        bot = create_bot(config.bot, session=session)
        dp = create_dispatcher(config, create_sessionmaker(engine), hub)
        await dp["digests"].load_samples()
        chat = OfflineChat(dp, bot, session, chat_type="private", user=OfflineUser(id=7, language_code=language))
        for line in (f"/subscribe leakage, spelling, preference, low-rank, reasoning lang={language} size=5",
                     "/digest"):
            print(f"===== {language}: {line}")
            for call in await chat.send(line):
                if call.name == "sendMessage":
                    print(call.text)
            print()
        await engine.dispose()
    print("===== requests to the fake:", len(server.requests), file=sys.stderr)
    await hub.close()
    await server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lang", action="append", choices=["en", "ru", "fa", "he"], help="default: fa and he")
    parser.add_argument("--model", default="remote", help="DIGEST_SUMMARY_MODEL (default: the fake remote chat model)")
    args = parser.parse_args()
    asyncio.run(main(args.lang or ["fa", "he"], args.model))
