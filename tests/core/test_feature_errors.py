"""Errors by type, in one place per feature (handlers/failures.py): a feature's error router answers its own
handlers' UserInputError / ModelError in the user's language with one history status rule, and never another
feature's errors (those reach the Dispatcher's catch-all apology)."""
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy import select

from chatkit.errors import UserInputError
from handlers.failures import feature_router
from handlers.i18n import Translator
from models.errors import UnknownModel
from services.history import HistoryRecorder
from storage.schema.core import HistoryEntry
from tests.conftest import ADMIN_ID


def texts(calls):
    return [call.text for call in calls if call.name == "sendMessage"]


async def rows(h, user_id):
    async with h.sessionmaker() as session:
        query = select(HistoryEntry).where(HistoryEntry.user_id == user_id).order_by(HistoryEntry.id)
        return [(e.command, e.arguments, e.status, e.result) for e in (await session.scalars(query)).all()]


async def test_an_unknown_model_is_the_users_input_in_the_features_words(make_harness, hub):
    h = await make_harness(hub=hub)
    [reply] = texts(await h.chat(user_id=ADMIN_ID, lang="ru").send("/leakbench no-such-model"))
    assert reply == Translator("ru")("leak-err-unknown-model", name="no-such-model", names=", ".join(hub.text_models()))
    assert (await rows(h, ADMIN_ID))[-1] == ("leakbench", "no-such-model", "rejected", {"error": "UnknownModel"})


async def test_a_feature_router_answers_only_its_own_handlers(make_harness):
    h = await make_harness()
    mine = feature_router("probe", model_errors="leak")
    other = Router(name="other")

    async def own(message: Message, history: HistoryRecorder) -> None:
        history.begin("own", "x")
        raise UserInputError("leak-err-separator", "separator")

    async def foreign(message: Message) -> None:
        raise UnknownModel("nope", ["gemma-3-270m"])

    mine.message.register(own, Command("own"))
    other.message.register(foreign, Command("foreign"))
    h.dp.include_routers(mine, other)
    # Ahead of the feature routers (and of the fallback's "unknown command"); `mine` is offered /foreign's error
    # first in the Dispatcher's order.
    h.dp.sub_routers[:] = [mine, other] + [r for r in h.dp.sub_routers if r not in (mine, other)]

    chat = h.chat(user_id=41, lang="fa")
    assert texts(await chat.send("/own x")) == [Translator("fa")("leak-err-separator")]
    assert texts(await chat.send("/foreign")) == [Translator("fa")("error-apology")]
    assert [(c, s, r) for c, _, s, r in await rows(h, 41)] == [
        ("own", "rejected", {"reason": "separator"}), ("foreign", "error", {"error": "UnknownModel"})]
