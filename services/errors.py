"""Typed failures the feature routers turn into localized replies, and the one rule for their history status."""
from typing import Any, Literal

from models.errors import BadRequest, EngineBusy, ModelError, RequestTooLarge, UnknownModel
from models.imagegen.errors import ImageGenError, NoKey

__all__ = ["ModelError", "Status", "UserInputError", "history_status"]

Status = Literal["ok", "error", "rejected"]


class UserInputError(Exception):
    """The user asked for something we will not do: bad arguments, a limit reached, a stale button. One class for
    the services and the shared parsers (bot/parsing.py), defined here because services may not import bot/.

    `key` is the Fluent message id of the reply and `params` its arguments; `then`, another message id, adds a line
    (the usage example after a syntax error); `reason` is what the history row records (`{"reason": reason}`);
    `alert` shows a button's reply as an alert rather than a toast. The feature routers (handlers/failures.py)
    answer it."""

    def __init__(self, key: str, reason: str = "bad input", *, then: str | None = None, alert: bool = False,
                 **params: str | int) -> None:
        super().__init__(f"{reason} ({key})")
        self.key, self.reason, self.then, self.alert = key, reason, then, alert
        self.params: dict[str, str | int] = params

    def localize(self, l10n: Any) -> str:
        """The message in the translator's language (a `bot.i18n.Translator`)."""
        return str(l10n(self.key, **self.params)) + (("\n" + str(l10n(self.then))) if self.then else "")


def history_status(error: Exception) -> Status:
    """`rejected` when the user's input or a limit stopped the command, `error` when our side failed.

    The user's side: their input (UserInputError, a prompt too long or another bad request, a model name that does
    not exist), and limits (the engine's queue is full). Our side: everything else (a model that will not load, a
    timeout, a remote backend or an image provider failing, feature settings that ask more of the engine than its
    limits). A missing image-API key is the deployment's choice, not a failure: `rejected`."""
    if isinstance(error, RequestTooLarge):
        return "rejected" if error.what == "prompt tokens" else "error"
    if isinstance(error, UserInputError | BadRequest | UnknownModel | EngineBusy | NoKey):
        return "rejected"
    if isinstance(error, ImageGenError) and error.code == NoKey.code:  # a provider that answered "no key"
        return "rejected"
    return "error"
