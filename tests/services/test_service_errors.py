"""One status rule for history: `rejected` for the user's input and limits, `error` for our failures."""
import pytest

from chatkit.errors import UserInputError
from models.errors import (
    EngineBusy,
    EngineClosed,
    ModelUnavailable,
    RemoteError,
    RequestTimeout,
    RequestTooLarge,
    UnknownModel,
)
from models.imagegen.errors import NoKey, ProviderError, SafetyFilter
from services.errors import history_status
from services.flux import ImageFailed


@pytest.mark.parametrize(("error", "status"), [
    (UserInputError("leak-err-format", "format"), "rejected"),
    (RequestTooLarge("prompt tokens", 900, 512), "rejected"),  # the user's prompt
    (UnknownModel("nope", ["gemma-3-270m"]), "rejected"),  # a model name the user typed
    (EngineBusy(9, 8), "rejected"),  # a limit
    (NoKey("replicate", "REPLICATE_API_TOKEN"), "rejected"),  # the deployment's choice
    (ImageFailed("no-key", "replicate: no key"), "rejected"),
    (RequestTooLarge("n", 32, 16), "error"),  # our settings ask more than the engine allows
    (ModelUnavailable("gemma-3-270m", "weights missing"), "error"),
    (RequestTimeout(30.0), "error"),
    (EngineClosed("gemma-3-270m"), "error"),
    (RemoteError("backend down"), "error"),
    (SafetyFilter("flagged"), "error"),
    (ImageFailed("provider", "HTTP 500"), "error"),
    (ProviderError("fal", "boom", 502), "error"),
    (RuntimeError("bug"), "error"),
])
def test_history_status_follows_one_rule(error: Exception, status: str) -> None:
    assert history_status(error) == status


def test_user_input_error_carries_its_reply() -> None:
    error = UserInputError("subscribe-err-bad-size", "bad-size", then="subscribe-usage", detail="99")
    assert (error.key, error.reason, error.then, error.params, error.alert) == (
        "subscribe-err-bad-size", "bad-size", "subscribe-usage", {"detail": "99"}, False)
