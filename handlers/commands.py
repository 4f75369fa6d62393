"""What each feature declares about its commands; /help, the authorization guard and setMyCommands are built from
these."""
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from aiogram.types import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeUnion,
    CallbackQuery,
    Message,
    TelegramObject,
)

from chatkit.chats import GROUP_TYPES, PRIVATE_TYPES
from chatkit.command import parse_command

EVERYWHERE = PRIVATE_TYPES | GROUP_TYPES


class Permission(StrEnum):
    """Who may run a command. One rule per command, checked by the guard router (handlers/guard.py)."""

    ANYONE = "anyone"
    # Changes something that belongs to the chat (its language, subscriptions, digest topic, quotas): in a group
    # only its admins (and the bot's admins); in a private chat the user, who owns it.
    CHAT_ADMIN = "chat_admin"
    BOT_ADMIN = "bot_admin"  # the bot's operators (ADMIN_IDS), in any chat


@dataclass(frozen=True)
class CommandSpec:
    name: str  # without the slash
    description_key: str  # Fluent message id of the one-line description
    usage_key: str | None = None  # Fluent message id of a usage example shown by /help
    chat_types: frozenset[str] = field(default=EVERYWHERE)
    admin_only: bool = False  # shorthand for permission=BOT_ADMIN (kept for the features that declare it)
    expensive: bool = False  # quota-limited (model or paid API work)
    permission: Permission = Permission.ANYONE

    def __post_init__(self) -> None:
        if self.admin_only and self.permission is Permission.ANYONE:
            object.__setattr__(self, "permission", Permission.BOT_ADMIN)
        object.__setattr__(self, "admin_only", self.permission is Permission.BOT_ADMIN)

    def rule_in(self, chat_type: str) -> Permission:
        """The rule where it is used: a chat admin's command is anyone's in a private chat (the user owns it)."""
        if self.permission is Permission.CHAT_ADMIN and chat_type in ("private", "channel"):
            return Permission.ANYONE
        return self.permission


def visible_commands(specs: list[CommandSpec], chat_type: str, *, is_admin: bool) -> list[CommandSpec]:
    return [spec for spec in specs if chat_type in spec.chat_types and (is_admin or not spec.admin_only)]


def spec_by_name(specs: Iterable[CommandSpec], name: str) -> CommandSpec | None:
    name = name.lower()
    return next((spec for spec in specs if spec.name == name), None)


def command_of(event: TelegramObject) -> tuple[str, str]:
    """('leak', 'yellow | He works as a') for a command message (chatkit.command); ('cb', data) for a button press;
    ('text', '') for anything else."""
    if isinstance(event, Message):
        parsed = parse_command(event.text)
        if parsed is not None:
            return parsed.name, parsed.args
    if isinstance(event, CallbackQuery):
        return (event.data or "").split(":")[0], event.data or ""
    return "text", ""


def command_input(arguments: str | None, message: Message) -> tuple[str, bool]:
    """What a command works on: its typed arguments, or, when there are none and the command replies to a
    message, that message's text (or caption). Returns (text, taken_from_reply); an empty reply gives "" and the
    command's usual "empty" answer."""
    typed = (arguments or "").strip()
    if typed:
        return typed, False
    replied = replied_text(message)
    if replied is not None:
        return replied, True
    return "", False


def replied_text(message: Message) -> str | None:
    """The text of the message a command replies to (None when it replies to nothing). Forum messages carry an
    implicit reply to their topic's creation message: that is not a reply the user made."""
    replied = message.reply_to_message
    if replied is None or replied.forum_topic_created is not None:
        return None
    return (replied.text or replied.caption or "").strip()


# ---------- command menus (setMyCommands) ----------
Describe = Callable[[str, str], str]  # (language, Fluent id) -> plain text


def command_menus(specs: list[CommandSpec], languages: Iterable[str | None], describe: Describe,
                  default_language: str, bot_admin_ids: Iterable[int] = ()) -> list[
                      tuple[BotCommandScopeUnion, str | None, list[BotCommand]]]:
    """(scope, language_code, commands) for every menu: members of private chats and groups see the commands
    they may use; group admins also see the chat-admin ones (BotCommandScopeAllChatAdministrators); each bot admin
    sees everything in their private chat with the bot (BotCommandScopeChat)."""
    def listed(chat_types: frozenset[str], allowed: set[Permission]) -> Callable[[str], list[BotCommand]]:
        def build(lang: str) -> list[BotCommand]:
            return [BotCommand(command=spec.name, description=describe(lang, spec.description_key)[:256])
                    for spec in specs if spec.chat_types & chat_types and
                    any(spec.rule_in(chat_type) in allowed for chat_type in spec.chat_types & chat_types)]
        return build

    everyone = {Permission.ANYONE}
    menus: list[tuple[BotCommandScopeUnion, Callable[[str], list[BotCommand]]]] = [
        (BotCommandScopeAllPrivateChats(), listed(PRIVATE_TYPES, everyone)),
        (BotCommandScopeAllGroupChats(), listed(GROUP_TYPES, everyone)),
        (BotCommandScopeAllChatAdministrators(), listed(GROUP_TYPES, everyone | {Permission.CHAT_ADMIN})),
    ]
    menus += [(BotCommandScopeChat(chat_id=admin_id), listed(PRIVATE_TYPES, set(Permission)))
              for admin_id in sorted(bot_admin_ids)]
    return [(scope, lang, build(lang or default_language)) for scope, build in menus for lang in languages]
