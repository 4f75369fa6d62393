"""The bot section of the settings (`Settings`, the `settings` workflow data handlers receive): Telegram, storage,
people and language, quotas, chat-command limits. It lives here, below `bot/`, because handlers read it;
`bot/config.py` assembles it with the other sections into `AppSettings` (docs/architecture.md)."""
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import NoDecode

from chatkit.parsing import check_url
from handlers.i18n import LANGUAGES
from models.config import EnvSettings
from storage.db import Pool


class Settings(EnvSettings):
    """The bot section: Telegram, storage, people and language, quotas, chat-command limits."""

    bot_token: SecretStr | None = None
    bot_username: str | None = None  # filled from getMe at start; set it for the console transport
    telegram_api_base: str | None = None  # e.g. http://127.0.0.1:8081 for a self-hosted Bot API server
    # Seconds a Bot API request may take before it counts as failed (the update is then run again after a backoff).
    bot_api_timeout_s: float = Field(60.0, gt=0, le=600)

    database_url: str = f"sqlite+aiosqlite:///{Path('data') / 'bot.sqlite3'}"
    # The connection pool of the bot's engine (storage.db.Pool): connections kept open, extra ones opened under
    # load, and how long an update waits for a free one before it fails. Updates hold a connection only while SQL
    # runs, never during model or image work (bot/middlewares/database.py), so a few serve many updates in flight.
    # An in-memory SQLite database has one shared connection and ignores these.
    # 10 kept + 5 overflow (SQLAlchemy's 5 + 10 holds as many): the inbox runs 20 updates at once, and connections
    # opened past the kept ones are closed at checkin, so under load a pool of 5 opened and closed a connection (a
    # server process on PostgreSQL) for most updates.
    db_pool_size: int = Field(10, ge=1, le=1000)
    db_max_overflow: int = Field(5, ge=0, le=1000)
    db_pool_timeout_s: float = Field(30.0, gt=0, le=3600)

    webhook_url: str | None = None
    # Webhook mode refuses to start without WEBHOOK_SECRET (forged POSTs would be accepted) unless this is set.
    webhook_allow_no_secret: bool = False
    webhook_secret: Annotated[SecretStr | None, Field(validate_default=True)] = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(8080, ge=1, le=65535)
    webhook_path: str = "/telegram/webhook"

    # The durable inbox (bot/transports/inbox.py): updates processed at once, how long a claim lasts without a
    # heartbeat (a dead process's updates are retaken after it), how long finished updates are kept (longer than
    # Telegram's 24 h redelivery, so a late duplicate is still recognised), and the shutdown deadline.
    inbox_workers: int = Field(20, ge=1, le=1000)
    inbox_lease_s: float = Field(30.0, ge=1, le=3600)
    inbox_retention_h: float = Field(48.0, ge=1)
    # Unfinished updates (every replica's together) past which the webhook answers 429 so Telegram slows down and
    # resends later, instead of accepting work it cannot finish soon; 0: no bound.
    inbox_max_backlog: int = Field(1000, ge=0)
    shutdown_grace_s: float = Field(20.0, ge=0, le=600)

    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_language: str = "en"

    # Expensive commands (model and image work): at most `quota_user_requests` per user and
    # `quota_chat_requests` per chat within `quota_window_s` seconds.
    quota_user_requests: int = Field(5, ge=0)
    quota_chat_requests: int = Field(20, ge=0)
    quota_window_s: int = Field(60, ge=1)
    # Where the windows are counted: memory:// (this process) or redis://host:6379/0 (shared by every replica).
    quota_storage: str = Field("memory://", pattern=r"^(memory://|rediss?://\S+)$")

    # /leak: samples per prompt and temperature in the chat (the suite benchmark uses the paper's protocol).
    leak_samples: int = Field(8, ge=1, le=32)
    leak_temperature: float = Field(1.0, ge=0, le=2)
    leak_max_new_tokens: int = Field(20, ge=4, le=64)
    leak_max_chars: int = Field(300, ge=20)
    leak_bench_samples: int = Field(3, ge=1, le=32)

    # /spellbench: test words per frequency bucket and language (the CLI runs the full lists).
    spell_bench_limit: int = Field(10, ge=1)

    console_output_dir: Path = Path("data") / "console"
    log_level: str = "INFO"
    # text, or json: one JSON object per line (for log collectors); secrets are redacted either way.
    log_format: str = Field("text", pattern="^(text|json)$")
    # /metrics, /healthz and /readyz on their own port in polling mode and in the scheduler role (webhook mode
    # serves them on WEBHOOK_PORT as well); 0 turns that server off.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9464, ge=0, le=65535)
    # How often a process without the digest-scheduler lock tries to take it (how soon a standby scheduler takes
    # over from one that died).
    scheduler_lock_retry_s: float = Field(15.0, ge=0.1, le=3600)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part for part in value.replace(",", " ").split() if part]
            try:
                return frozenset(int(part) for part in parts)
            except ValueError:
                raise ValueError("must be Telegram user ids separated by commas, e.g. 12345,67890") from None
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.split(":///", 1)[1]
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("must be sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db")
        return value

    @field_validator("webhook_url", "telegram_api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return check_url(value) if value else None  # the error names the problem, never the value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None and info.data.get("webhook_url") and not info.data.get("webhook_allow_no_secret"):
            raise ValueError("must be set in webhook mode (WEBHOOK_URL is set); WEBHOOK_ALLOW_NO_SECRET=1 accepts "
                             "unauthenticated POSTs instead")
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)")
        return value

    @property
    def db_pool(self) -> Pool:
        return Pool(size=self.db_pool_size, overflow=self.db_max_overflow, timeout_s=self.db_pool_timeout_s)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids
