"""/lang's policy on the real database: a group's choice is the chat's, a private one the user's."""
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.preferences import set_language
from storage.repo.core import get_chat, get_user


async def test_group_choice_sets_the_chat_not_the_user(sessionmaker: async_sessionmaker[AsyncSession],
                                                       people: None) -> None:
    async with sessionmaker() as session, session.begin():
        user, chat = await get_user(session, 1), await get_chat(session, -100)
        change = await set_language(session, "fa", user, chat)
    assert (change.scope, change.user_id) == ("chat", None)
    async with sessionmaker() as session:
        chat, user = await get_chat(session, -100), await get_user(session, 1)
        assert chat is not None and chat.language == "fa"
        assert user is not None and user.language != "fa"


async def test_private_choice_sets_the_user(sessionmaker: async_sessionmaker[AsyncSession], people: None) -> None:
    async with sessionmaker() as session, session.begin():
        user, chat = await get_user(session, 1), await get_chat(session, 1)
        change = await set_language(session, "he", user, chat)
    assert (change.scope, change.user_id) == ("user", 1)
    async with sessionmaker() as session:
        user = await get_user(session, 1)
        assert user is not None and user.language == "he"
