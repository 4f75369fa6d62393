"""The one rule for a failed command's history status (the user's side or ours)."""
from typing import Literal

from chatkit.errors import UserInputError
from models.errors import BadRequest, EngineBusy, RequestTooLarge, UnknownModel
from models.imagegen.errors import ImageGenError, NoKey

__all__ = ["Status", "history_status"]

Status = Literal["ok", "error", "rejected"]


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
