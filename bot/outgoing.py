"""The outgoing-call pipeline: what happens to every Bot API call the app's Bot makes, built in one place.

`OutgoingCalls` is the Bot session's only request middleware. In order: the reply target, the call journal (once
per call), retries (429 after retry_after; 5xx and calls that never left with backoff and jitter; bounded), metrics
(every attempt), the request; then the job's status message. Per-update state is the one `CallScope`
(handlers/outgoing.py). docs/architecture.md, "The outgoing-call pipeline", draws it."""
from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.client.session.base import Response
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import SendChatAction, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientConnectorError

from bot import metrics
from chatkit.redact import redact
from handlers.outgoing import current_scope

if TYPE_CHECKING:  # the journal's module imports this one
    from bot.transports.calls import CallJournalStage

log = logging.getLogger("bot.outgoing")
# Calls that change nothing when repeated: one whose answer was lost (a timeout) may be sent again.
_REPEATABLE_PREFIXES = ("get", "set", "edit", "delete")


# aiogram parses every answer with `Response[method.__returning__]`, and pydantic caches a parametrized generic class
# only weakly: after each garbage collection the class was built again (its whole schema), 6 % of a replica's time
# under load (py-spy, the fault bench's overload). One strong reference per method keeps the cache warm.
_RESPONSE_MODELS: dict[type[Any], Any] = {}


def _pin_response_model(method: TelegramMethod[Any]) -> None:
    if type(method) not in _RESPONSE_MODELS:
        _RESPONSE_MODELS[type(method)] = Response[method.__returning__]  # type: ignore[name-defined]  # a runtime type


class OutgoingCalls(BaseRequestMiddleware):
    """The pipeline. `journal` is set by the inbox at start (bot/transports/calls.py `install`)."""

    def __init__(self, *, attempts: int = 3, max_wait_s: float = 60.0, backoff_base_s: float = 0.25,
                 backoff_max_s: float = 2.0, rng: random.Random | None = None):
        self.attempts, self.max_wait_s = attempts, max_wait_s
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.rng = rng or random.Random()
        self.journal: CallJournalStage | None = None
        # Flood control is not an outage (every 429 is waited out here, no update fails), but an operator and a
        # load balancer should see it: /readyz says "degraded" until a little after the last retry_after ran out.
        self.flood_until, self.flood_retry_after, self.flood_count = 0.0, 0, 0

    def flood_note(self, linger_s: float = 5.0) -> str | None:
        """For /readyz: None unless a 429 came within its retry_after plus `linger_s`."""
        if time.monotonic() > self.flood_until + linger_s:
            return None
        return f"flood control: {self.flood_count} answers 429, last retry_after {self.flood_retry_after} s"

    def _saw_flood(self, retry_after: int) -> None:
        now = time.monotonic()
        if now > self.flood_until + 5.0:
            self.flood_count = 0  # a new episode
        self.flood_count += 1
        self.flood_retry_after = retry_after
        self.flood_until = max(self.flood_until, now + retry_after)

    @classmethod
    def of(cls, bot: Bot) -> OutgoingCalls:
        for middleware in bot.session.middleware:
            if isinstance(middleware, cls):
                return middleware
        raise LookupError("this Bot was not built by bot.app.create_bot: it has no outgoing-call pipeline")

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        _pin_response_model(method)
        scope = current_scope()
        if scope.target is not None:  # 1. topic + reply for a send to the update's chat (handlers/sending.py)
            scope.target.apply(method)

        send = _Send(self, make_request, bot, method)  # 3. retries, 4. metrics, the request
        if self.journal is not None and scope.journal is not None:  # 2. the call journal, once per call
            result = await self.journal(scope.journal, send, bot, method)
        else:
            result = await send()
        if scope.job is not None:  # 5. a job's first message to its chat is its status message (for /cancel)
            scope.job.saw_message(result)
        return result

    async def _attempts(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                        method: TelegramMethod[TelegramType], send: _Send | None = None) -> Any:
        name = type(method).__name__
        for attempt in range(1, self.attempts + 1):
            try:
                if send is not None:
                    send.on_wire = True
                result = await _measured(make_request, bot, method)
                if send is not None:
                    send.on_wire = False
                return result
            except (TelegramRetryAfter, TelegramServerError, TelegramNetworkError) as error:
                if send is not None:
                    send.on_wire = False  # answered (or never connected): the journal's own rules decide
                if isinstance(error, TelegramRetryAfter):
                    self._saw_flood(error.retry_after)
                if isinstance(method, SendChatAction):
                    # A hint ("typing…") sent from a task nobody awaits (aiogram's ChatActionSender): dropped.
                    log.debug("chat action dropped: %s", type(error).__name__)
                    return True
                wait = self._wait(error, attempt, method)
                if wait is None:
                    raise
                log.warning("Bot API %s: %s; attempt %d of %d in %.1f s", name,
                            redact(f"{type(error).__name__}: {error}"), attempt + 1, self.attempts, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def _wait(self, error: Exception, attempt: int, method: TelegramMethod[Any]) -> float | None:
        """Seconds before the next attempt, or None when this error is not retried here (the update's own rerun,
        bot/transports/inbox.py, or the caller decides)."""
        if attempt >= self.attempts:
            return None
        if isinstance(error, TelegramRetryAfter):  # flood control: Telegram says how long; a long wait is not ours
            return float(error.retry_after) if error.retry_after <= self.max_wait_s else None
        if isinstance(error, TelegramNetworkError) and not isinstance(error.__cause__, ClientConnectorError) and \
                not method.__api_method__.startswith(_REPEATABLE_PREFIXES):
            return None  # a send that timed out may have arrived: never repeated here (the journal decides)
        step = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        return step / 2 + self.rng.uniform(0, step / 2)  # "equal jitter": calls a fault hit together spread out


class _Send:
    """One call's way through retries, metrics and the request. `on_wire` is True while an attempt's request is
    out and unanswered: a task cancelled then (a shutdown's deadline cut the update) may have reached Telegram, so
    the journal keeps the intent undecided (treated as sent by the next run); cancelled between attempts (a
    backoff or retry_after wait), nothing is out, and the intent is forgotten (sent again)."""

    def __init__(self, pipeline: OutgoingCalls, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                 method: TelegramMethod[Any]):
        self.pipeline, self.make_request, self.bot, self.method = pipeline, make_request, bot, method
        self.on_wire = False

    async def __call__(self) -> Any:
        return await self.pipeline._attempts(self.make_request, self.bot, self.method, self)


async def _measured(make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                    method: TelegramMethod[TelegramType]) -> Any:
    """One attempt, counted for /metrics (bot/metrics.py): every attempt and every 429."""
    name = type(method).__name__
    try:
        result = await make_request(bot, method)
    except TelegramRetryAfter:
        metrics.BOT_API_429.labels(method=name).inc()
        metrics.BOT_API_REQUESTS.labels(method=name, outcome="retry_after").inc()
        raise
    except Exception:
        metrics.BOT_API_REQUESTS.labels(method=name, outcome="error").inc()
        raise
    metrics.BOT_API_REQUESTS.labels(method=name, outcome="ok").inc()
    return result
