"""The user-input error: one class for the parsers here, the services and the feature routers that answer it."""
from typing import Any


class UserInputError(Exception):
    """The user asked for something we will not do: bad arguments, a limit reached, a stale button.

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
        """The message in the translator's language (a `handlers.i18n.Translator`)."""
        return str(l10n(self.key, **self.params)) + (("\n" + str(l10n(self.then))) if self.then else "")
