"""Image-provider settings: a section of `bot.config.AppSettings` (environment / .env).
Keys are SecretStr: never logged, never stored."""
from typing import Literal

from pydantic import Field, SecretStr

from models.config import EnvSettings


class ImageGenSettings(EnvSettings):

    replicate_api_token: SecretStr | None = None
    replicate_api_base: str = "https://api.replicate.com/v1"
    fal_key: SecretStr | None = None
    fal_api_base: str = "https://fal.run"
    fal_queue_base: str = "https://queue.fal.run"
    # Which provider /flux uses when the request names none: replicate | fal | auto (the first with a key).
    imagegen_provider: Literal["auto", "replicate", "fal"] = "auto"
    imagegen_model: Literal["schnell", "dev"] = "schnell"
    imagegen_connect_timeout_s: float = Field(10.0, gt=0)
    imagegen_read_timeout_s: float = Field(60.0, gt=0)
    imagegen_total_timeout_s: float = Field(180.0, gt=0)  # one image, polling included
    imagegen_poll_interval_s: float = Field(1.0, gt=0)
    imagegen_retries: int = Field(3, ge=0)
    imagegen_max_image_bytes: int = Field(12 * 2**20, gt=0)
    flux_daily_limit_user: int = Field(20, ge=0)
    flux_daily_limit_chat: int = Field(100, ge=0)
