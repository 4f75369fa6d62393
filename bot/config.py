"""Settings from the environment and `.env` (pydantic-settings). Every field is documented in `.env.example`.

`AppSettings` is the one settings object: the bot section (`handlers.settings.Settings`, the `settings` workflow
data handlers receive) and the models, digests and image-API sections, all on one base class
(`models.config.EnvSettings`). `python -m bot` builds it once with `AppSettings.load()` and passes it down; nothing
else reads `.env`."""
import dataclasses
from pathlib import Path
from typing import Any, ClassVar, Self

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
        loaded = cls(bot=Settings.load(env_file, **parts["bot"]),
                     models=ModelSettings.load(env_file, **parts["models"]),
                     digests=DigestSettings.load(env_file, **parts["digests"]),
                     imagegen=ImageGenSettings.load(env_file, **parts["imagegen"]))
        from chatkit.parsing import check_url_settings

        try:
            check_url_settings(loaded.sections())  # every URL setting of every section: one line, never the value
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


def _split(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field values by the section that has the field (field names are unique across sections: one namespace)."""
    by_section: dict[str, dict[str, Any]] = {name: {} for name in AppSettings.SECTIONS}
    for key, value in values.items():
        owner = next((name for name, section in AppSettings.SECTIONS.items() if key in section.model_fields), None)
        if owner is None:
            raise TypeError(f"no setting named {key!r}")
        by_section[owner][key] = value
    return by_section
