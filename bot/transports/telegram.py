"""The real transports: long polling, or a webhook server (aiohttp) when WEBHOOK_URL is set."""
import logging
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import register_commands
from bot.config import Settings

log = logging.getLogger(__name__)


async def prepare(bot: Bot, dp: Dispatcher, settings: Settings) -> None:
    me = await bot.get_me()
    dp["bot_username"] = me.username
    await register_commands(bot, settings)
    log.info("bot @%s ready", me.username)


async def run_polling(bot: Bot, dp: Dispatcher, settings: Settings) -> None:
    await prepare(bot, dp, settings)
    await bot.delete_webhook(drop_pending_updates=False)
    await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types(), handle_signals=True)


def build_webhook_app(bot: Bot, dp: Dispatcher, settings: Settings) -> web.Application:
    app = web.Application()
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    # SimpleRequestHandler answers 401 when the X-Telegram-Bot-Api-Secret-Token header does not match.
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret).register(app, path=_path(settings))

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)

    async def on_startup(_app) -> None:
        await prepare(bot, dp, settings)
        await bot.set_webhook(settings.webhook_url, secret_token=secret,
                              allowed_updates=dp.resolve_used_update_types(), drop_pending_updates=False)

    app.on_startup.append(on_startup)
    setup_application(app, dp, bot=bot)
    return app


def _path(settings: Settings) -> str:
    # The path Telegram posts to is the path of WEBHOOK_URL (a reverse proxy may strip a prefix: WEBHOOK_PATH).
    return urlparse(settings.webhook_url).path or settings.webhook_path if settings.webhook_url else settings.webhook_path


async def run_webhook(bot: Bot, dp: Dispatcher, settings: Settings) -> None:
    app = build_webhook_app(bot, dp, settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    log.info("webhook listening on %s:%s", settings.webhook_host, settings.webhook_port)
    try:
        import asyncio

        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
