"""Settings from the environment and `.env` (pydantic-settings). Every field is documented in `.env.example`.

`AppSettings` is the one settings object: the bot section (`handlers.settings.Settings`, the `settings` workflow
data handlers receive) and the models, digests and image-API sections, all on one base class
(`models.config.EnvSettings`). `python -m bot` builds it once with `AppSettings.load()` and passes it down; nothing
else reads `.env`."""
import dataclasses
import re
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic_settings import SettingsError as PydanticSettingsError

from digests.config import DigestSettings
from handlers.settings import Settings
from models.config import ENV_FILE, EnvSettings, ModelSettings, SettingsError
from models.imagegen.config import ImageGenSettings

__all__ = ["AppSettings", "SettingsError"]


@dataclasses.dataclass(frozen=True)
class AppSettings:
    """Every settings section, built together from one environment (and `.env`)."""
    bot: Settings
    models: ModelSettings
    digests: DigestSettings
    imagegen: ImageGenSettings

    SECTIONS: ClassVar[dict[str, type[EnvSettings]]] = {
        "bot": Settings, "models": ModelSettings, "digests": DigestSettings, "imagegen": ImageGenSettings}

    @classmethod
    def load(cls, env_file: str | Path | None = ENV_FILE, **overrides: Any) -> Self:
        """All sections from the environment and `env_file` (None: the environment only, as tests do), with
        `overrides` by field name (`bot_token=…`, `broadcast_per_second=…`). A bad value raises `SettingsError`
        with one line naming the setting."""
        parts = _split(overrides)
        try:
            loaded = cls(bot=Settings.load(env_file, **parts["bot"]),
                         models=ModelSettings.load(env_file, **parts["models"]),
                         digests=DigestSettings.load(env_file, **parts["digests"]),
                         imagegen=ImageGenSettings.load(env_file, **parts["imagegen"]))
        except PydanticSettingsError as error:  # a JSON setting (REMOTE_MODELS, EXTRA_MODELS) that is not JSON
            found = re.search(r'field "([a-z_0-9]+)"', str(error))
            name = found.group(1).upper() if found else "a JSON setting"
            raise SettingsError(f"Invalid setting {name}: not valid JSON") from None
        from chatkit.parsing import check_url_settings

        try:
            check_url_settings(loaded.sections())  # every URL setting of every section: one line, never the value
            _check_startup_values(loaded.bot)
        except ValueError as error:
            raise SettingsError(f"Invalid setting {error}") from None
        return loaded

    def updated(self, **changes: Any) -> Self:
        """A copy with fields changed by name (not validated again: for values the program computed itself)."""
        parts = _split(changes)
        return dataclasses.replace(self, **{name: getattr(self, name).model_copy(update=fields)
                                            for name, fields in parts.items() if fields})

    def sections(self) -> tuple[EnvSettings, ...]:
        return (self.bot, self.models, self.digests, self.imagegen)


def _check_startup_values(bot: Settings) -> None:
    """What would otherwise fail later with a traceback: ValueError("NAME: reason"), never the value."""
    import logging

    from aiogram.utils.token import TokenValidationError, validate_token
    from sqlalchemy.engine import make_url

    if not isinstance(logging.getLevelName(str(bot.log_level).upper()), int):
        raise ValueError("LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    if bot.bot_token is not None:
        try:
            validate_token(bot.bot_token.get_secret_value())
        except TokenValidationError:
            raise ValueError("BOT_TOKEN: must look like 123456789:AA… (the token @BotFather gave)") from None
    try:
        port = make_url(bot.database_url).port
        if port is not None and not 0 < port < 65536:
            raise ValueError("port")
    except Exception:  # noqa: BLE001 - any parse failure is the same one line
        raise ValueError("DATABASE_URL: is not a valid database URL (check the brackets of an IPv6 address "
                         "([::1]) and that the port is 1-65535)") from None


def _split(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field values by the section that has the field (field names are unique across sections: one namespace)."""
    by_section: dict[str, dict[str, Any]] = {name: {} for name in AppSettings.SECTIONS}
    for key, value in values.items():
        owner = next((name for name, section in AppSettings.SECTIONS.items() if key in section.model_fields), None)
        if owner is None:
            raise TypeError(f"no setting named {key!r}")
        by_section[owner][key] = value
    return by_section
