"""Preferences: whose language a /lang choice sets (the policy), stored through storage/repo/core.py."""
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repo.core import set_chat_language, set_user_language
from storage.schema.core import Chat, User


@dataclass(frozen=True)
class LanguageChange:
    code: str
    scope: str  # "chat" (a group's replies) or "user" (a private chat's)
    user_id: int | None  # whose cached profile is now stale


async def set_language(session: AsyncSession, code: str, user: User | None, chat: Chat | None) -> LanguageChange:
    """In a private chat the choice is the user's; in a group it is the chat's (everyone reads the same replies).
    Who may change a group's language is the command's permission rule (CommandSpec), checked before this."""
    if chat is not None and chat.type != "private":
        await set_chat_language(session, chat, code)
        return LanguageChange(code, "chat", None)
    if user is not None:
        await set_user_language(session, user, code)
        return LanguageChange(code, "user", user.id)
    return LanguageChange(code, "none", None)
