"""Authorization in one place: who is a bot admin (ADMIN_IDS), who is a chat admin (getChatMember, cached for a short
time), and the router-level filters built on them (docs/architecture.md, "Who may run what").

The rule of each command is written once, in its CommandSpec (`permission`); the guard router (handlers/guard.py)
refuses a command whose rule the sender does not meet, with a localized message and a `rejected` history row, before
any feature router sees it. Feature routers add the same filters at router level (`router.message.filter(...)`) so
a handler added later cannot skip the rule."""
import logging
import time
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User

from chatkit.command import parse_command
from handlers.commands import CommandSpec, Permission, spec_by_name
from handlers.settings import Settings

log = logging.getLogger(__name__)
ADMIN_STATUSES = frozenset({"creator", "administrator"})
CACHE_TTL_S = 60.0  # a demoted admin keeps their rights at most this long; a promoted one waits at most this long
# Telegram's placeholder user for "anonymous admin" posts made as the group itself.
GROUP_ANONYMOUS_BOT_ID = 1087968824


class ChatAdminCache:
    """getChatMember answers, kept briefly: a busy group must not cost one Bot API call per command."""

    def __init__(self, ttl_s: float = CACHE_TTL_S, max_entries: int = 10_000):
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._entries: dict[tuple[int, int, int], tuple[bool, float]] = {}
        self.lookups = 0  # Bot API calls made (for tests)

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        key = (bot.id, chat_id, user_id)
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and now - cached[1] < self.ttl_s:
            return cached[0]
        self.lookups += 1
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as error:  # the bot was removed, or the chat is gone: nobody is admin there
            log.warning("getChatMember failed in chat %s: %s", chat_id, type(error).__name__)
            return False
        admin = member.status in ADMIN_STATUSES
        if len(self._entries) >= self.max_entries:
            self._entries = {k: v for k, v in self._entries.items() if now - v[1] < self.ttl_s}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[key] = (admin, now)
        return admin

    def forget(self, chat_id: int, user_id: int | None = None) -> None:
        self._entries = {k: v for k, v in self._entries.items()
                         if not (k[1] == chat_id and (user_id is None or k[2] == user_id))}


def admin_cache(data: dict[str, Any]) -> ChatAdminCache:
    """The dispatcher's cache (one per dispatcher, so tests with several bots do not share answers)."""
    dispatcher = data.get("dispatcher")
    if dispatcher is None:
        return _FALLBACK
    cache = dispatcher.workflow_data.get("chat_admins")
    if cache is None:
        cache = dispatcher.workflow_data["chat_admins"] = ChatAdminCache()
    return cache


_FALLBACK = ChatAdminCache()


def is_bot_admin(settings: Settings, user: User | None) -> bool:
    return user is not None and settings.is_admin(user.id)


async def is_chat_admin(bot: Bot, settings: Settings, chat: Chat, user: User | None,
                        sender_chat: Chat | None, cache: ChatAdminCache) -> bool:
    """Private chats: the user owns it. Channels: whoever can post is an admin. Groups: the chat's admins (an
    anonymous admin posts as the group itself) and the bot's admins."""
    if chat.type in ("private", "channel"):
        return True
    if sender_chat is not None and sender_chat.id == chat.id:
        return True  # an anonymous admin
    if user is None or user.id == GROUP_ANONYMOUS_BOT_ID:
        return False
    if settings.is_admin(user.id):
        return True
    return await cache.is_admin(bot, chat.id, user.id)


def _who(event: TelegramObject) -> tuple[Chat | None, User | None, Chat | None]:
    if isinstance(event, Message):
        return event.chat, event.from_user, event.sender_chat
    if isinstance(event, CallbackQuery):
        return (event.message.chat if event.message is not None else None), event.from_user, None
    return None, None, None


async def permits(permission: Permission, event: TelegramObject, bot: Bot, settings: Settings,
                  cache: ChatAdminCache) -> bool:
    chat, user, sender_chat = _who(event)
    if permission is Permission.ANYONE:
        return True
    if permission is Permission.BOT_ADMIN:
        return is_bot_admin(settings, user)
    if chat is None:
        return False
    return await is_chat_admin(bot, settings, chat, user, sender_chat, cache)


class IsBotAdmin(BaseFilter):
    """A user listed in ADMIN_IDS."""

    async def __call__(self, event: TelegramObject, settings: Settings, **_: Any) -> bool:
        return is_bot_admin(settings, _who(event)[1])


class CommandRefused(BaseFilter):
    """Matches a command addressed to this bot whose CommandSpec rule the sender does not meet; hands the handler
    `refused` (the spec) and `rule` (the permission that applied). `specs` is every feature's list
    (`handlers.routers.all_commands()`), passed in by the router list."""

    def __init__(self, specs: list[CommandSpec]) -> None:
        self.specs = specs

    async def __call__(self, message: Message, bot: Bot, settings: Settings, **data: Any) -> bool | dict[str, Any]:
        parsed = parse_command(message.text or message.caption)
        if parsed is None:
            return False
        if parsed.mention is not None:
            me = await bot.me()
            if me.username is None or parsed.mention.lower() != me.username.lower():
                return False  # /cmd@otherbot: not ours to answer or refuse
        spec = spec_by_name(self.specs, parsed.name)
        if spec is None:
            return False
        rule = spec.rule_in(message.chat.type)
        if await permits(rule, message, bot, settings, admin_cache(data)):
            return False
        return {"refused": spec, "rule": rule}
