"""Errors the model layer raises; handlers turn each into a localized message."""


class ModelError(Exception):
    """Base class: the message is safe to log (never contains secrets)."""


class UnknownModel(ModelError):
    def __init__(self, name: str, known: list[str]):
        self.name, self.known = name, known
        super().__init__(f"unknown model {name!r}; known models: {', '.join(known)}")


class ModelUnavailable(ModelError):
    def __init__(self, name: str, hint: str):
        self.name, self.hint = name, hint
        super().__init__(f"model {name!r} is not available: {hint}")


class BadRequest(ModelError):
    """The request itself is wrong (empty prompt, bad parameter)."""


class RequestTooLarge(BadRequest):
    def __init__(self, what: str, value: int, limit: int):
        self.what, self.value, self.limit = what, value, limit
        super().__init__(f"{what} is {value}, the limit is {limit}")


class EngineBusy(ModelError):
    def __init__(self, position: int, capacity: int):
        self.position, self.capacity = position, capacity
        super().__init__(f"engine busy: {position} requests queued (capacity {capacity})")


class EngineClosed(ModelError):
    def __init__(self, name: str = ""):
        super().__init__(f"engine {name} is shut down".replace("  ", " "))


class RequestTimeout(ModelError):
    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"request timed out after {seconds:g} s")


class RemoteError(ModelError):
    """A remote (OpenAI-compatible) backend failed after retries."""

    def __init__(self, message: str, status: int | None = None):
        self.status = status
        super().__init__(message)
