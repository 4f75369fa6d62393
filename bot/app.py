"""Builds the Bot and the Dispatcher: the one place where the parts are wired together."""
import logging
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.config import AppSettings
from bot.middlewares.context import ContextMiddleware
from bot.middlewares.database import DatabaseMiddleware
from bot.middlewares.metrics import UpdateMetricsMiddleware
from bot.middlewares.quota import QuotaMiddleware
from bot.outgoing import OutgoingCalls
from handlers.commands import command_menus
from handlers.i18n import LANGUAGES, Translator
from handlers.jobs import JobMiddleware, JobRegistry
from handlers.sending import ReplyTargetMiddleware
from handlers.settings import Settings
from models.config import ModelSettings

if TYPE_CHECKING:  # the hub module imports torch: loaded only where models are used
    from models.hub import ModelHub

log = logging.getLogger(__name__)
# A token-shaped placeholder for transports that never reach Telegram (console, tests with a recording session).
OFFLINE_TOKEN = "123456:offline-console-token-not-a-secret"


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    if session is None:
        api = TelegramAPIServer.from_base(settings.telegram_api_base) if settings.telegram_api_base else None
        timeout = settings.bot_api_timeout_s
        session = AiohttpSession(api=api, timeout=timeout) if api else AiohttpSession(timeout=timeout)
    session.middleware(OutgoingCalls())  # what every Bot API call goes through, in one place (bot/outgoing.py)
    token = settings.bot_token.get_secret_value() if settings.bot_token else OFFLINE_TOKEN
    return Bot(token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def create_dispatcher(config: AppSettings, sessionmaker: async_sessionmaker[AsyncSession],
                      hub: "ModelHub | None" = None, **workflow: Any) -> Dispatcher:
    """The Dispatcher with every router and middleware. Workflow data: `settings` is the bot section (what handlers
    ask for), `app_settings` the whole object; `workflow` adds or replaces entries (tests pass their own)."""
    from handlers.routers import all_commands, get_routers  # the features import the models: only when built

    settings = config.bot
    workflow.setdefault("jobs", JobRegistry())  # running jobs: /cancel, the inbox's journal, shutdown
    if "imagegen" not in workflow:
        from models.imagegen.providers import Providers

        workflow["imagegen"] = Providers(config.imagegen)
    if "digests" not in workflow:
        from digests.service import DigestService

        # No broadcaster here: the process that runs the scheduler gets one with its Bot (bot/runtime.py).
        workflow["digests"] = DigestService(config.digests, sessionmaker, translator=Translator, hub=hub)
    dp = Dispatcher(settings=settings, app_settings=config, sessionmaker=sessionmaker, hub=hub,
                    bot_username=settings.bot_username, **workflow)
    # First of ours: the measured time covers the database session and the context too (bot/metrics.py).
    dp.update.outer_middleware(UpdateMetricsMiddleware(spec.name for spec in all_commands()))
    metrics.watch_hub(hub)
    dp.update.outer_middleware(DatabaseMiddleware(sessionmaker))
    dp.update.outer_middleware(ContextMiddleware(settings))
    dp.update.outer_middleware(ReplyTargetMiddleware())
    # Inner middlewares see the handler's flags; registered on the dispatcher they apply to every router.
    quota = QuotaMiddleware(settings)
    dp.message.middleware(quota)
    dp.callback_query.middleware(quota)
    dp.message.middleware(JobMiddleware())  # expensive handlers run as cancellable jobs (handlers/jobs.py)
    dp.callback_query.middleware(JobMiddleware())
    dp.include_routers(*get_routers())
    return dp


def create_hub(settings: ModelSettings) -> "ModelHub":
    """The shared model hub; models load lazily on first use, so building it costs nothing."""
    from models.hub import ModelHub

    return ModelHub(settings)


async def register_commands(bot: Bot, settings: Settings) -> None:
    """setMyCommands per scope (members, group admins, each bot admin), in each supported language."""
    from handlers.routers import all_commands

    menus = command_menus(all_commands(), (None, *LANGUAGES), lambda lang, key: _plain(Translator(lang)(key)),
                          settings.default_language, settings.admin_ids)
    for scope, lang, listed in menus:
        await bot.set_my_commands(listed, scope=scope, language_code=lang)


def _plain(markup: str) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", markup)).replace("\u2068", "").replace("\u2069", "")
