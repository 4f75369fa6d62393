"""Model-layer errors as localized messages, shared by every feature that runs a model."""
from handlers.i18n import Translator
from models.errors import (
    EngineBusy,
    EngineClosed,
    ModelError,
    ModelUnavailable,
    RequestTimeout,
    RequestTooLarge,
    UnknownModel,
)


def model_error_text(error: ModelError, l10n: Translator, prefix: str) -> str:
    """`prefix` picks the feature's strings: `leak` → leak-err-busy, leak-err-timeout, …"""
    if isinstance(error, EngineBusy):
        # `position` is where this request would have stood: the ones ahead of it are the queue.
        return l10n(f"{prefix}-err-busy", position=str(max(error.position - 1, 1)))
    if isinstance(error, UnknownModel):
        return l10n(f"{prefix}-err-unknown-model", name=error.name, names=", ".join(error.known))
    if isinstance(error, ModelUnavailable):
        return l10n(f"{prefix}-err-unavailable", name=error.name)
    if isinstance(error, RequestTooLarge) and error.what != "prompt tokens":
        # A deployment whose feature settings ask more of the engine than its limits (e.g. LEAK_SAMPLES > ENGINE_MAX_N).
        return l10n("model-err-limits", what=error.what, value=str(error.value), limit=str(error.limit))
    if isinstance(error, RequestTooLarge):
        return l10n(f"{prefix}-err-prompt-too-long", value=str(error.value), limit=str(error.limit))
    if isinstance(error, (RequestTimeout, EngineClosed)):
        return l10n(f"{prefix}-err-timeout")
    return l10n("error-apology")
