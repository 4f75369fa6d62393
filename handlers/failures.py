"""Errors by type, in one place per feature: `feature_router(name, prefix)` builds a feature's Router whose own
handlers' `UserInputError`, `ModelError` and `ImageGenError` become localized replies and history rows
(`services.errors.history_status`: `rejected` for the user's input and limits, `error` for our failures).

aiogram propagates an error event from the Dispatcher through every router, so a feature's
`@router.errors(ExceptionTypeFilter(...))` alone would also catch the other features' errors (and the spell wording
would answer a /leak failure). The feature router therefore catches its own handlers' exceptions in an outer
middleware and offers them to its own error observer first; what it does not handle goes on to the Dispatcher's
error routers (handlers/errors.py: log, apology, `error` row)."""
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Router
from aiogram.dispatcher.event.bases import UNHANDLED, CancelHandler, SkipHandler
from aiogram.filters import ExceptionTypeFilter, Filter
from aiogram.types import CallbackQuery, ErrorEvent, Message, TelegramObject, Update

from chatkit.errors import UserInputError
from handlers.commands import command_of
from handlers.i18n import Translator
from handlers.model_errors import model_error_text
from models.errors import ModelError
from models.imagegen.errors import ImageGenError, NoKey
from services.errors import history_status
from services.history import HistoryRecorder


class _OwnErrors(BaseMiddleware):
    """Outer middleware of one feature router: its handlers' exceptions go to its own error observer first."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except (SkipHandler, CancelHandler):
            raise
        except Exception as error:
            update = data.get("event_update")
            if not isinstance(update, Update):
                raise
            response = await self.router.errors.trigger(ErrorEvent(update=update, exception=error),
                                                         **{**data, "source_event": event, "raised_in": self.router})
            if response is UNHANDLED:
                raise
            return response


def image_error_text(error: ImageGenError, l10n: Translator) -> str:
    if isinstance(error, NoKey):
        return l10n("flux-err-no-key")
    return l10n(f"flux-err-{error.code}", message=str(error))


async def reply(source: TelegramObject, bot: Bot, history: HistoryRecorder, text: str, *, alert: bool) -> None:
    """The error's reply: it replaces the handler's progress message when there is one; a button gets an alert or a
    toast when the handler had said nothing yet, otherwise a message in its chat."""
    if history.progress is not None:
        await bot.edit_message_text(text, chat_id=history.progress.chat_id, message_id=history.progress.message_id)
    elif isinstance(source, Message):
        await source.answer(text)
    elif isinstance(source, CallbackQuery):
        await source.answer(text, show_alert=alert)


class RaisedIn(Filter):
    """Matches an error event only when it comes from this router's own handlers (through `_OwnErrors`): the
    Dispatcher later offers every unhandled error to every router, and another feature's error is not ours."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(self, event: ErrorEvent, **data: Any) -> bool:
        return data.get("raised_in") is self.router


def feature_router(name: str, *, model_errors: str | None = None, image_errors: bool = False) -> Router:
    """A fresh Router for one feature. Its UserInputErrors are always answered; `model_errors` names the prefix of
    its model-error strings (`leak` → leak-err-busy, …) when it runs models; `image_errors` when it calls image
    APIs. Anything else goes on to the Dispatcher's error router."""
    router = Router(name=name)
    catch = _OwnErrors(router)
    for observer in (router.message, router.callback_query, router.channel_post):
        observer.outer_middleware(catch)

    async def record(error: Exception, source: TelegramObject, history: HistoryRecorder,
                     result: dict[str, Any]) -> None:
        command, arguments = (history.command, history.arguments) if history.command else command_of(source)
        await history.record(command, arguments, status=history_status(error), result=result, model=history.model)

    async def on_user_input(event: ErrorEvent, source_event: TelegramObject, bot: Bot, l10n: Translator,
                            history: HistoryRecorder) -> None:
        error = event.exception
        assert isinstance(error, UserInputError)
        await reply(source_event, bot, history, error.localize(l10n), alert=error.alert)
        await record(error, source_event, history, {"reason": error.reason})

    async def on_model_error(event: ErrorEvent, source_event: TelegramObject, bot: Bot, l10n: Translator,
                             history: HistoryRecorder) -> None:
        error = event.exception
        assert isinstance(error, ModelError)
        assert model_errors is not None
        await reply(source_event, bot, history, model_error_text(error, l10n, model_errors), alert=True)
        await record(error, source_event, history, {"error": type(error).__name__})

    async def on_image_error(event: ErrorEvent, source_event: TelegramObject, bot: Bot, l10n: Translator,
                             history: HistoryRecorder) -> None:
        error = event.exception
        assert isinstance(error, ImageGenError)
        await reply(source_event, bot, history, image_error_text(error, l10n), alert=True)
        await record(error, source_event, history, {"error": error.code})

    own = RaisedIn(router)
    router.errors.register(on_user_input, own, ExceptionTypeFilter(UserInputError))
    if model_errors is not None:
        router.errors.register(on_model_error, own, ExceptionTypeFilter(ModelError))
    if image_errors:
        router.errors.register(on_image_error, own, ExceptionTypeFilter(ImageGenError))
    return router
