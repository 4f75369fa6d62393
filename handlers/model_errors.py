"""Model-layer errors as localized messages, shared by every feature that runs a model."""
from bot.i18n import Translator
from models.errors import (
    EngineBusy, EngineClosed, ModelError, ModelUnavailable, RequestTimeout, RequestTooLarge, UnknownModel,
)


def model_error_text(error: ModelError, l10n: Translator, prefix: str) -> str:
    """`prefix` picks the feature's strings: `leak` → leak-err-busy, leak-err-timeout, …"""
    if isinstance(error, EngineBusy):
        return l10n(f"{prefix}-err-busy", position=str(error.position))
    if isinstance(error, UnknownModel):
        return l10n(f"{prefix}-err-unknown-model", name=error.name, names=", ".join(error.known))
    if isinstance(error, ModelUnavailable):
        return l10n(f"{prefix}-err-unavailable", name=error.name)
    if isinstance(error, RequestTooLarge):
        return l10n(f"{prefix}-err-prompt-too-long", value=str(error.value), limit=str(error.limit))
    if isinstance(error, (RequestTimeout, EngineClosed)):
        return l10n(f"{prefix}-err-timeout")
    return l10n("error-apology")
