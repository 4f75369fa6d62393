"""What each feature declares about its commands; /help and setMyCommands are built from these."""
from dataclasses import dataclass, field

PRIVATE = frozenset({"private"})
GROUPS = frozenset({"group", "supergroup"})
EVERYWHERE = PRIVATE | GROUPS


@dataclass(frozen=True)
class CommandSpec:
    name: str  # without the slash
    description_key: str  # Fluent message id of the one-line description
    usage_key: str | None = None  # Fluent message id of a usage example shown by /help
    chat_types: frozenset[str] = field(default=EVERYWHERE)
    admin_only: bool = False
    expensive: bool = False  # quota-limited (model or paid API work)


def visible_commands(specs: list[CommandSpec], chat_type: str, *, is_admin: bool) -> list[CommandSpec]:
    return [spec for spec in specs if chat_type in spec.chat_types and (is_admin or not spec.admin_only)]
