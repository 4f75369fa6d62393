"""Image-generation failures, each specific enough for its own localized message."""


class ImageGenError(Exception):
    code = "provider"


class NoKey(ImageGenError):
    code = "no-key"

    def __init__(self, provider: str, setting: str):
        self.provider, self.setting = provider, setting
        super().__init__(f"{provider}: no API key configured ({setting})")


class SafetyFilter(ImageGenError):
    code = "safety"


class ProviderError(ImageGenError):
    code = "provider"

    def __init__(self, provider: str, message: str, status: int | None = None):
        self.provider, self.message, self.status = provider, message[:300], status
        super().__init__(f"{provider}: {self.message}" + (f" (HTTP {status})" if status else ""))


class ImageTimeout(ImageGenError):
    code = "timeout"


class BadImage(ImageGenError):
    code = "bad-image"
