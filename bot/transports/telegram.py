"""The real transports: long polling, or a webhook server (aiohttp) when WEBHOOK_URL is set.

Both put every update into the durable inbox (bot/transports/inbox.py) before Telegram learns it was received:
the webhook answers 200 only after the update is committed, polling advances its stored offset in the transaction
that stored the updates. Both stop on SIGTERM/SIGINT the same way (bot/shutdown.py)."""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web
from pydantic import ValidationError

from bot.app import register_commands
from bot.metrics import Probes, probes_for
from bot.outgoing import OutgoingCalls
from bot.shutdown import Shutdown
from bot.transports.inbox import Inbox, backoff_s
from chatkit.parsing import clean_payload, payload_ints_fit
from handlers.settings import Settings
from storage.db import is_transient
from storage.repo import inbox as repo

log = logging.getLogger(__name__)
T = TypeVar("T")
INBOX = web.AppKey("inbox", Inbox)
STARTING = web.AppKey("starting", asyncio.Task)
POLLING_CURSOR = "polling"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class StartUp:
    """Where a transport's start stands, for /readyz (webhook and polling): not ready until every start-up call to
    the Bot API succeeded, with the reason while it is being retried."""

    def __init__(self) -> None:
        self.finished = False
        self.problem = "starting"
        self.inbox: asyncio.Future[None] | None = None  # the inbox's start, once begun (a shutdown stops it then)

    async def check(self) -> str | None:
        return None if self.finished else self.problem


STARTUP = web.AppKey("startup", StartUp)


async def prepare(bot: Bot, dp: Dispatcher, settings: Settings, startup: StartUp | None = None) -> None:
    me = await reach_bot_api(bot, startup)
    dp["bot_username"] = me.username
    await until_reachable(lambda: register_commands(bot, settings), "setMyCommands", startup)
    log.info("bot @%s ready", me.username)


async def reach_bot_api(bot: Bot, startup: StartUp | None = None) -> Any:
    """getMe until the Bot API answers (until_reachable). Returns the bot's User."""
    return await until_reachable(bot.get_me, "getMe", startup)


async def until_reachable(call: Callable[[], Awaitable[T]], what: str, startup: StartUp | None = None) -> T:
    """`call()` until the Bot API answers it: unreachable, 5xx or 429 at start is retried with backoff and jitter (one
    warning line each time, no traceback; `startup` says why for /readyz), not a crash; a signal cancels the wait.
    Any other error (a token Telegram refuses) is not retried."""
    attempt = 0
    while True:
        try:
            result = await call()
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as error:
            attempt += 1
            wait = backoff_s(attempt, getattr(error, "retry_after", 0.0) or 0.0)
            if startup is not None:
                startup.problem = f"bot api unreachable ({what}: {type(error).__name__}); retrying"
            log.warning("the Bot API is not reachable at start (%s: %s); retrying in %.1f s", what,
                        type(error).__name__, wait)
            await asyncio.sleep(wait)
            continue
        if startup is not None:
            startup.problem = "starting"
        return result


def _grace(settings: Settings) -> float:
    return float(getattr(settings, "shutdown_grace_s", 20.0))


# ---------------------------------------------------------------- polling
async def run_polling(bot: Bot, dp: Dispatcher, settings: Settings, shutdown: Shutdown | None = None) -> None:
    shutdown = shutdown or Shutdown().install()
    startup = StartUp()
    probes = dp.workflow_data.get("probes")  # the metrics port's (bot/roles.py): /readyz says why while starting
    if probes is not None:
        probes.extra_checks["startup"] = startup.check

    async def start_up() -> None:
        await prepare(bot, dp, settings, startup)
        await until_reachable(lambda: bot.delete_webhook(drop_pending_updates=False), "deleteWebhook", startup)

    starting, stopping = asyncio.ensure_future(start_up()), asyncio.ensure_future(shutdown.wait())
    try:
        await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not starting.done():  # a signal while the Bot API is being retried: nothing was started yet
            starting.cancel()
        await asyncio.gather(starting, stopping, return_exceptions=True)
    if starting.cancelled():
        return
    starting.result()  # a start-up that failed for good (a refused token) ends the process here
    inbox = Inbox.from_settings(bot, dp, settings)
    await inbox.start()
    startup.finished = True
    poller = asyncio.create_task(poll(bot, inbox, dp.resolve_used_update_types()), name="polling")
    stop = asyncio.create_task(shutdown.wait())
    try:
        await asyncio.wait([poller, stop], return_when=asyncio.FIRST_COMPLETED)
    finally:
        poller.cancel()
        stop.cancel()
        await asyncio.gather(poller, stop, return_exceptions=True)
        if poller.done() and not poller.cancelled() and poller.exception() is not None:
            log.error("polling stopped", exc_info=poller.exception())
        await inbox.stop(_grace(settings), hurry=shutdown.hurry)


async def poll(bot: Bot, inbox: Inbox, allowed_updates: list[str], timeout_s: int = 25) -> None:
    """getUpdates from the stored offset; the updates and the next offset commit together, and only the next
    getUpdates (with that offset) confirms them to Telegram: a crash in between gets them again, and the inbox
    drops what it already holds."""
    async with inbox.sessionmaker() as session:
        offset = await repo.get_cursor(session, POLLING_CURSOR)
    backoff = 1.0
    while True:
        try:
            updates = await bot.get_updates(offset=offset, timeout=timeout_s, allowed_updates=allowed_updates,
                                            request_timeout=timeout_s + 10)
            backoff = 1.0
        except TelegramRetryAfter as error:
            await asyncio.sleep(error.retry_after)
            continue
        except (TelegramNetworkError, TelegramServerError) as error:
            log.warning("getUpdates failed (%s); retrying in %.0f s", type(error).__name__, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        if not updates:
            continue
        payloads = [(update.update_id, clean_payload(update.model_dump(mode="json", by_alias=True,
                                                                       exclude_none=True)))
                    for update in updates]
        offset = max(update_id for update_id, _ in payloads) + 1
        await _store_polled(inbox, payloads, offset)
        inbox.wake()


async def _store_polled(inbox: Inbox, payloads: list[tuple[int, dict[str, Any]]], offset: int) -> None:
    """Store a getUpdates batch with its next offset; while the database is away, keep the batch and try again
    (Telegram keeps it too: the offset it knows is confirmed only by the next getUpdates)."""
    retry = 0
    while True:
        try:
            async with inbox.sessionmaker() as session, session.begin():
                await repo.store_updates(session, payloads)
                await repo.set_cursor(session, POLLING_CURSOR, offset)
        except Exception as error:
            if not is_transient(error):
                raise
            inbox.database.failed(error)
            retry += 1
            await asyncio.sleep(backoff_s(retry))
            continue
        inbox.database.ok()
        return


# ---------------------------------------------------------------- webhook
class BadUpdate(ValueError):
    """A webhook body that is not a Telegram Update (answered 400 and logged, never processed)."""

    def __init__(self, reason: str, update_id: int | None = None):
        super().__init__(reason)
        self.update_id = update_id


def parse_update_body(raw: bytes) -> tuple[int, dict[str, Any]]:
    """The update id and the cleaned JSON of a webhook body, or BadUpdate with the reason. Total: any bytes in."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadUpdate("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadUpdate("the body is not a JSON object")
    update_id = body.get("update_id")
    if type(update_id) is not int or not 0 <= update_id < 2 ** 63:
        raise BadUpdate("update_id must be a non-negative 64-bit integer")
    try:
        # NaN and ±Infinity become null, integers beyond 64 bits their decimal string (chatkit.parsing.clean_payload
        # says why): stored, not refused, where aiogram does not read the field as a number.
        body = clean_payload(body)
        update = Update.model_validate(body)
        # A field aiogram reads as an integer (an id, a date, an offset) turned that string back into the number:
        # it would fail every BIGINT write about that user or chat, and Telegram never sends it, so it is refused.
        fits = payload_ints_fit(update.model_dump(exclude_none=True))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadUpdate(f"not an Update: {where}: {first['msg']}", update_id) from None
    except RecursionError:
        raise BadUpdate("the body nests too deeply", update_id) from None
    if not fits:
        raise BadUpdate("a number aiogram reads as an integer does not fit in 64 bits", update_id)
    return update_id, body


class WebhookHandler:
    """POST from Telegram: check the secret, check the shape, store, and only then 200."""

    def __init__(self, bot: Bot, inbox: Inbox, secret: str | None):
        self.bot, self.inbox, self.secret = bot, inbox, secret

    async def __call__(self, request: web.Request) -> web.Response:
        if not self.inbox.accepting:
            # Starting or stopping: Telegram retries a 5xx later (and a load balancer tries another replica).
            return web.json_response({"ok": False, "description": "not accepting updates now"}, status=503,
                                     headers={"Retry-After": "5"})
        if self.secret is not None:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self.secret.encode()):
                return web.json_response({"ok": False, "description": "wrong secret token"}, status=401)
        try:
            # Before the body is read and validated: under overload most POSTs are refused, and refusing must cost
            # next to nothing, or the refusals eat the capacity that works the backlog off.
            if await self.inbox.overloaded():
                # Past INBOX_MAX_BACKLOG: Telegram keeps the update and resends it later, slower and slower.
                return web.json_response({"ok": False, "description": "busy, resend later"}, status=429,
                                         headers={"Retry-After": "2"})
        except Exception as error:  # noqa: BLE001 - _storage_error: 503 when transient, else a traceback and 500
            return self._storage_error(error, None)
        try:
            update_id, body = parse_update_body(await request.read())
        except BadUpdate as error:
            return self._reject(400, str(error), error.update_id)
        try:
            new = await self.inbox.store([(update_id, body)])
        except Exception as error:  # noqa: BLE001 - the same
            return self._storage_error(error, update_id)
        self.inbox.database.ok()
        if not new:
            log.info("update %s is a duplicate: acknowledged, not processed again", update_id)
        return web.json_response({})

    def _storage_error(self, error: Exception, update_id: int | None) -> web.Response:
        if is_transient(error):
            # The database is restarting or unreachable (or SQLite's disk is full): nothing was stored, so nothing
            # is acknowledged; Telegram resends. One log line per outage, not one per POST.
            self.inbox.database.failed(error)
            return web.json_response({"ok": False, "description": "storage unavailable, resend later"},
                                     status=503, headers={"Retry-After": "5"})
        log.exception("update %s could not be stored; answering 500 so Telegram retries",
                      update_id if update_id is not None else "(not read yet)")
        return web.json_response({"ok": False, "description": "could not store the update"}, status=500)

    @staticmethod
    def _reject(status: int, why: str, update_id: int | None) -> web.Response:
        # Logged without the body: it is user content, and a forged one may be large.
        log.warning("webhook body rejected (%s): %s", update_id if update_id is not None else "no update_id", why)
        return web.json_response({"ok": False, "description": why[:200]}, status=status)


def add_fault_checks(probes: Probes, dp: Dispatcher, inbox: Inbox) -> None:
    """/readyz reflects each fault: the inbox's writes failing (not ready: the webhook answers 503 meanwhile); the
    Bot API failing, the quota storage fallen back, the backlog past its bound (degraded: the process copes)."""
    from bot.middlewares.quota import QuotaMiddleware

    async def storage() -> str | None:
        return inbox.database.describe()

    async def bot_api() -> str | None:
        try:
            flood = OutgoingCalls.of(inbox.bot).flood_note()
        except LookupError:  # a Bot built without the pipeline (some tests)
            flood = None
        return inbox.bot_api.describe() or flood

    async def backlog() -> str | None:
        if inbox.max_backlog and await inbox.backlog() >= inbox.max_backlog:
            return f"backlog past INBOX_MAX_BACKLOG ({inbox.max_backlog}): refusing new updates"
        return None

    probes.extra_checks["inbox_storage"] = storage
    probes.notes.update(bot_api=bot_api, inbox_backlog=backlog)
    quota = next((m for m in dp.message.middleware if isinstance(m, QuotaMiddleware)), None)
    if quota is not None:
        probes.notes["quota"] = quota.backend.state


def build_webhook_app(bot: Bot, dp: Dispatcher, settings: Settings, inbox: Inbox | None = None, *,
                      listen_first: bool = False) -> web.Application:
    """The webhook app. Its start (getMe, setMyCommands, the inbox, setWebhook) runs in the app's start-up, or, with
    `listen_first` (run_webhook), as the task `app[STARTING]` while the server already listens: /healthz and the
    webhook answer 503 and /readyz says why (`startup`: "bot api unreachable …") until it finished."""
    app = web.Application()
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    inbox = inbox or Inbox.from_settings(bot, dp, settings)
    app[INBOX] = inbox
    startup = StartUp()
    # The bound coroutine method, not the instance: aiohttp deprecates handlers that are not coroutine functions.
    app.router.add_post(_path(settings), WebhookHandler(bot, inbox, secret).__call__)

    async def healthz(_request: web.Request) -> web.Response:
        if not startup.finished:
            return web.json_response({"status": "starting"}, status=503)
        if not inbox.accepting:
            return web.json_response({"status": "stopping"}, status=503)
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)
    # /metrics and /readyz (database, schema at head, scheduler lock) on the webhook's own port (bot/metrics.py).
    probes = probes_for(dp, accepting=lambda: inbox.accepting or not startup.finished)
    probes.extra_checks["startup"] = startup.check
    add_fault_checks(probes, dp, inbox)
    probes.add_routes(app, healthz=False)

    async def start_up() -> None:
        if not settings.webhook_url:  # Telegram needs the public URL: no webhook can be registered without it
            raise RuntimeError("WEBHOOK_URL is required in webhook mode")
        await prepare(bot, dp, settings, startup)
        # Shielded: a shutdown during start-up waits for the inbox's start (a half-started inbox cannot be stopped).
        startup.inbox = asyncio.ensure_future(inbox.start())  # unfinished updates of an earlier run come first
        await asyncio.shield(startup.inbox)
        if inbox.intake_engine is not None:
            probes.engine = inbox.intake_engine  # /readyz: can this replica store an update now
        await until_reachable(lambda: bot.set_webhook(
            settings.webhook_url or "", secret_token=secret, allowed_updates=dp.resolve_used_update_types(),
            drop_pending_updates=False), "setWebhook", startup)
        startup.finished = True

    async def on_startup(_app: web.Application) -> None:
        if listen_first:
            app[STARTING] = asyncio.create_task(start_up(), name="webhook-start")
        else:
            await start_up()

    async def on_shutdown(_app: web.Application) -> None:
        await stop_inbox(app, _grace(settings))  # a no-op when run_webhook already stopped it

    async def close_bot(_app: web.Application) -> None:
        await bot.session.close()

    app[STARTUP] = startup
    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    setup_application(app, dp, bot=bot)  # the dispatcher's own startup/shutdown hooks
    app.on_cleanup.append(close_bot)
    return app


async def stop_inbox(app: web.Application, grace_s: float, hurry: asyncio.Event | None = None) -> None:
    """Stop the app's inbox if its start began (waiting for that start to end first); else there is nothing to stop."""
    started = app[STARTUP].inbox
    if started is None:
        return
    await asyncio.gather(started, return_exceptions=True)
    if not started.cancelled() and started.exception() is None:
        await app[INBOX].stop(grace_s, hurry=hurry)


def _path(settings: Settings) -> str:
    # The path Telegram posts to is the path of WEBHOOK_URL (a reverse proxy may strip a prefix: WEBHOOK_PATH).
    if not settings.webhook_url:
        return settings.webhook_path
    return urlparse(settings.webhook_url).path or settings.webhook_path


async def run_webhook(bot: Bot, dp: Dispatcher, settings: Settings, shutdown: Shutdown | None = None) -> None:
    shutdown = shutdown or Shutdown().install()
    if settings.webhook_secret is None:
        log.warning("WEBHOOK_SECRET is not set (WEBHOOK_ALLOW_NO_SECRET=1): anyone who finds the webhook URL can "
                    "post forged updates")
    app = build_webhook_app(bot, dp, settings, listen_first=True)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    # Listening before the Bot API was reached: while start-up retries it, /readyz answers 503 with the reason and the
    # webhook 503 (Telegram resends), instead of a port that refuses connections and says nothing.
    await site.start()
    log.info("webhook listening on %s:%s", settings.webhook_host, settings.webhook_port)
    starting = app[STARTING]
    stop = asyncio.ensure_future(shutdown.wait())
    try:
        await asyncio.wait([starting, stop], return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # a signal during start-up: stop waiting for the Bot API
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
        else:
            starting.result()  # a start-up that failed for good (a refused token) ends the process here
            await stop
        # Still listening: new POSTs get 503 (Telegram retries them) while the updates in flight finish.
        await stop_inbox(app, _grace(settings), hurry=shutdown.hurry)
    finally:
        stop.cancel()
        await runner.cleanup()
