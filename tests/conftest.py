"""Shared fixtures: a real database (SQLite, or PostgreSQL where reachable), the real Dispatcher fed real Updates
through a recording Bot session, the webhook bot over the fake Bot API (tests/webhook.py), and one model hub for the
whole run (real embedded models, loaded lazily)."""
import asyncio
import os
import uuid
from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import User
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_bot, create_dispatcher
from bot.config import AppSettings
from bot.transports.offline import OfflineChat, OfflineUser, RecordingSession
from fakes.botapi import FakeBotAPI
from fakes.image_api import FakeImageAPI
from handlers.settings import Settings
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade
from tests.webhook import webhook_bot

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_ID = 99
BOT_USERNAME = "paper_demo_bot"


# ---------- databases ----------
async def _postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    import asyncpg

    try:
        connection = await asyncio.wait_for(asyncpg.connect(POSTGRES_ADMIN_URL), 5)
    except Exception as error:  # noqa: BLE001 - any failure means "skip, and say why"
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {type(error).__name__}: {error}"
    await connection.close()
    return None


@pytest.fixture(scope="session")
async def postgres_url():
    """A fresh PostgreSQL database for this test session (dropped afterwards)."""
    reason = await _postgres_available()
    if reason:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        print(f"\nSKIP PostgreSQL tests: {reason}")
        pytest.skip(reason)
    import asyncpg

    name = f"paperbot_test_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """Parametrised over both backends: tests using it run on SQLite and on PostgreSQL.
    Synchronous on purpose: an async fixture cannot set up another async fixture by name inside a running loop."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    return request.getfixturevalue("empty_postgres_url")


@pytest.fixture
async def empty_postgres_url(postgres_url):
    """The session's PostgreSQL database with an empty schema: everything the previous test left is dropped."""
    engine = create_engine(postgres_url)
    async with engine.begin() as connection:
        # One statement per call: asyncpg prepares statements, and a prepared statement holds one command.
        await connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        await connection.exec_driver_sql("CREATE SCHEMA public")
    await engine.dispose()
    return postgres_url


@pytest.fixture
async def sqlite_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
async def migrated_engine(database_url) -> AsyncEngine:
    engine = create_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


# ---------- models ----------
@pytest.fixture(scope="session")
async def hub():
    """One model hub for the whole run: each embedded model loads once, on first use."""
    from models.config import ModelSettings
    from models.hub import ModelHub

    hub = ModelHub(ModelSettings())  # defaults and the process environment (MODEL_CACHE_DIR), never `.env`
    yield hub
    await hub.close()


# ---------- the bot ----------
@dataclass
class Harness:
    dp: Dispatcher
    bot: Bot
    session: RecordingSession
    sessionmaker: async_sessionmaker[AsyncSession]
    config: AppSettings  # every section; `settings` is its bot section (the handlers' `settings`)

    @property
    def settings(self) -> Settings:
        return self.config.bot

    def chat(self, *, user_id: int = 1, lang: str | None = "en", chat_type: str = "private",
             first_name: str = "Ada", chat_id: int | None = None) -> OfflineChat:
        return OfflineChat(self.dp, self.bot, self.session, chat_type=chat_type, chat_id=chat_id,
                           user=OfflineUser(id=user_id, first_name=first_name, language_code=lang))


@pytest.fixture
async def make_harness(tmp_path, sqlite_url):
    """`await make_harness(hub=None, database_url=None, **settings)` → a Harness over a migrated database.
    `settings` are fields of any section by name (`quota_user_requests=1`, `flux_daily_limit_user=2`)."""
    engines: list[AsyncEngine] = []

    async def factory(*, hub=None, database_url: str | None = None, **overrides) -> Harness:
        values = dict(database_url=database_url or sqlite_url, admin_ids=frozenset({ADMIN_ID}),
                      bot_username=BOT_USERNAME, console_output_dir=tmp_path / "out",
                      quota_user_requests=1000, quota_chat_requests=1000)
        values.update(overrides)
        config = AppSettings.load(env_file=None, **values)  # explicit values over defaults; never `.env`
        engine = create_engine(config.bot.database_url, pool=config.bot.db_pool)
        engines.append(engine)
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        session = RecordingSession(User(id=42, is_bot=True, first_name="Paper demo bot", username=BOT_USERNAME),
                                   output_dir=tmp_path / "out", admin_ids={ADMIN_ID})
        bot = create_bot(config.bot, session=session)
        dp = create_dispatcher(config, sessionmaker, hub)
        return Harness(dp, bot, session, sessionmaker, config)

    yield factory
    for engine in engines:
        await engine.dispose()


@pytest.fixture
async def harness(make_harness) -> Harness:
    """The bot without models (core commands)."""
    return await make_harness()


# ---------- the webhook bot over the fake Bot API (tests/webhook.py) ----------
@pytest.fixture
async def fake_botapi():
    """The loopback fake of the Bot API (fakes/botapi.py): it records every call and fails the ones asked to."""
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
def make_webhook_bot(database_url, fake_botapi):
    """`async with make_webhook_bot(**settings) as bot:` — a bot process (runtime, webhook server on a loopback port)
    over the same database and fake Bot API each time it is entered: a restart is a second `async with`."""
    def factory(**settings):
        return webhook_bot(fake_botapi, database_url, **settings)

    return factory


@pytest.fixture
async def image_api(monkeypatch):
    """The loopback fake of the hosted image APIs (Replicate + fal.ai), with the environment that points at it."""
    server = await FakeImageAPI("test-key").start()
    for name, value in server.settings_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REPLICATE_API_TOKEN", "test-key")
    monkeypatch.setenv("IMAGEGEN_POLL_INTERVAL_S", "0.02")
    yield server
    await server.stop()
