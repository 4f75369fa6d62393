"""/flux, /fluxtest, /fluxstats: FLUX prompt tests through hosted image APIs (services/flux.py owns the limits and
what is stored, models/imagegen does the work; this module parses, calls the service and renders)."""
from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, Chat, InlineKeyboardMarkup, InputMediaPhoto, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.parsing import RowId, Vote
from chatkit.render import cut_caption, escape
from handlers.commands import CommandSpec
from handlers.failures import feature_router
from handlers.i18n import Html, Translator
from handlers.sending import chat_action, send_long
from models.imagegen.providers import Providers
from services.flux import MAX_PROMPT, FluxService, SuiteOutcome, check_prompt, check_suite
from services.history import HistoryRecorder
from storage.schema.core import User

commands = [
    CommandSpec("flux", "cmd-flux", usage_key="flux-usage", expensive=True),
    CommandSpec("fluxtest", "cmd-fluxtest", expensive=True),
    CommandSpec("fluxstats", "cmd-fluxstats"),
]


class FluxVoteButton(CallbackData, prefix="fv"):
    generation_id: RowId
    value: Vote


class FluxAction(CallbackData, prefix="fa"):
    action: str  # reroll | test
    generation_id: RowId


def keyboard(generation_id: int, up: int, down: int, l10n: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=f"👍 {up}", callback_data=FluxVoteButton(generation_id=generation_id, value=1))
    builder.button(text=f"👎 {down}", callback_data=FluxVoteButton(generation_id=generation_id, value=-1))
    builder.button(text=l10n("flux-btn-reroll"), callback_data=FluxAction(action="reroll", generation_id=generation_id))
    builder.button(text=l10n("flux-btn-test"), callback_data=FluxAction(action="test", generation_id=generation_id))
    return InlineKeyboardMarkup(inline_keyboard=builder.adjust(2, 2).export())


def _user_id(db_user: User | None) -> int | None:
    return db_user.id if db_user else None


async def generate_and_send(bot: Bot, chat: Chat, prompt: str, flux: FluxService, *, l10n: Translator,
                            history: HistoryRecorder, user_id: int | None, arguments: str) -> None:
    history.begin("flux", arguments)
    async with chat_action(bot, chat.id, "typing"):
        made = await flux.generate(prompt, user_id=user_id, chat=chat)
    image = made.image
    async with chat_action(bot, chat.id, "upload_photo"):
        caption = l10n("flux-caption", prompt=prompt, provider=image.provider, model=image.model,
                       seed=str(image.seed), seconds=f"{image.seconds:.1f}")
        sent = await bot.send_photo(chat.id, BufferedInputFile(image.data, filename=f"flux-{image.seed}.png"),
                                    caption=cut_caption(caption), reply_markup=keyboard(made.generation_id, 0, 0, l10n))
        await flux.remember_sent([(made.generation_id, sent.photo[-1].file_id if sent.photo else None)])
    await history.record("flux", arguments, result={"generation": made.generation_id, "seed": image.seed},
                         model=image.model, latency_ms=int(image.seconds * 1000))


def render_test(outcome: SuiteOutcome, l10n: Translator) -> str:
    summary = l10n("flux-test-summary", suite=outcome.suite, provider=outcome.provider, seed=str(outcome.seed),
                   ok=str(len(outcome.images)), total=str(outcome.total))
    if outcome.mean_score is not None:
        summary += "\n" + l10n("flux-test-mean", score=f"{outcome.mean_score:.2f}")
    elif outcome.suite != "text":
        summary += "\n" + l10n("flux-test-vote")
    failures = [f"• {escape(result.item.label)}: {l10n(f'flux-err-{result.status}', message='')}"
                for result in outcome.failures]
    return Html("\n".join([summary, *failures]))


async def run_test(bot: Bot, chat: Chat, suite: str, subject: str | None, flux: FluxService, *, l10n: Translator,
                   history: HistoryRecorder, user_id: int | None) -> None:
    arguments = f"{suite} {subject or ''}".strip()
    history.begin("fluxtest", arguments)
    async with chat_action(bot, chat.id, "typing"):
        outcome = await flux.run_test(suite, subject, user_id=user_id, chat=chat)
    if outcome.images:
        async with chat_action(bot, chat.id, "upload_photo"):
            for album in outcome.albums():
                media = []
                for item in album:
                    score = "" if item.result.score is None else " · " + l10n(
                        "flux-ocr-score", score=f"{item.result.score:.2f}", text=item.result.ocr_text or "∅")
                    caption = cut_caption(f"{escape(item.result.item.label)} · seed {outcome.seed}{score}\n"
                                          f"{escape(item.result.item.prompt)}")
                    media.append(InputMediaPhoto(media=BufferedInputFile(item.image.data, f"{item.generation_id}.png"),
                                                 caption=caption))
                sent = await bot.send_media_group(chat.id, [photo for photo in media])  # typed as the union
                await flux.remember_sent([(item.generation_id, message.photo[-1].file_id if message.photo else None)
                                          for item, message in zip(album, sent, strict=False)])
    await send_long(bot, chat.id, render_test(outcome, l10n))
    await history.record("fluxtest", arguments, status="ok" if outcome.images else "error",
                         result={"seed": outcome.seed, "ok": len(outcome.images), "total": outcome.total,
                                 "mean_score": outcome.mean_score},
                         model=outcome.provider)


async def flux(message: Message, command: CommandObject, bot: Bot, imagegen: Providers, session: AsyncSession,
               l10n: Translator, history: HistoryRecorder, db_user: User | None) -> None:
    prompt = (command.args or "").strip()
    history.begin("flux", prompt[:100] if len(prompt) > MAX_PROMPT else prompt)
    check_prompt(prompt)
    service = FluxService(session, imagegen)
    service.require_key()
    await generate_and_send(bot, message.chat, prompt, service, l10n=l10n, history=history,
                            user_id=_user_id(db_user), arguments=prompt)


async def flux_vote(query: CallbackQuery, callback_data: FluxVoteButton, session: AsyncSession,
                    imagegen: Providers, l10n: Translator, db_user: User | None) -> None:
    votes = await FluxService(session, imagegen).vote(callback_data.generation_id, _user_id(db_user),
                                                      callback_data.value)
    await query.answer(l10n("flux-voted"))
    if isinstance(query.message, Message) and not votes.in_suite:
        await query.message.edit_reply_markup(
            reply_markup=keyboard(callback_data.generation_id, votes.up, votes.down, l10n))


async def flux_action(query: CallbackQuery, callback_data: FluxAction, bot: Bot, imagegen: Providers,
                      session: AsyncSession, l10n: Translator, history: HistoryRecorder, db_user: User | None) -> None:
    service = FluxService(session, imagegen)
    prompt = await service.generation_prompt(callback_data.generation_id)
    if query.message is None:
        await query.answer(l10n("stale-button"))
        return
    await query.answer()
    chat = query.message.chat
    if callback_data.action == "test":
        await run_test(bot, chat, "upside-down", prompt, service, l10n=l10n, history=history,
                       user_id=_user_id(db_user))
        return
    await generate_and_send(bot, chat, prompt, service, l10n=l10n, history=history, user_id=_user_id(db_user),
                            arguments=f"reroll {callback_data.generation_id}")


async def fluxtest(message: Message, command: CommandObject, bot: Bot, imagegen: Providers, session: AsyncSession,
                   l10n: Translator, history: HistoryRecorder, db_user: User | None) -> None:
    history.begin("fluxtest", command.args or "")
    suite, subject = check_suite(command.args or "")
    history.begin("fluxtest", suite)
    service = FluxService(session, imagegen)
    service.require_key()
    await run_test(bot, message.chat, suite, subject, service, l10n=l10n, history=history,
                   user_id=_user_id(db_user))


async def fluxstats(message: Message, session: AsyncSession, imagegen: Providers, l10n: Translator,
                    history: HistoryRecorder) -> None:
    rows = await FluxService(session, imagegen).stats()
    if not rows:
        await message.answer(l10n("flux-stats-empty"))
        return
    lines = [l10n("flux-stats-title")]
    for row in rows:
        lines.append(f"• {escape(row.suite)} · {escape(row.model)}: " + l10n(
            "flux-stats-row", count=str(row.images), score="–" if row.mean_score is None else f"{row.mean_score:.2f}",
            share="–" if row.upvote_share is None else f"{row.upvote_share * 100:.0f}%"))
    await message.answer(Html("\n".join(lines)))
    await history.record("fluxstats")


# Paid image API work inside the update: a run that a crash cut is told as interrupted, not run (and paid for) again
# when the update is (handlers/jobs.py JobMiddleware).
JOURNALED = {"expensive": True, "journaled": True}  # copied per handler: filters add their own flags


def create_router() -> Router:
    router = feature_router("flux", image_errors=True)
    router.message.register(flux, Command("flux"), flags={**JOURNALED})
    router.callback_query.register(flux_vote, FluxVoteButton.filter())
    router.callback_query.register(flux_action, FluxAction.filter(), flags={**JOURNALED})
    router.message.register(fluxtest, Command("fluxtest"), flags={**JOURNALED})
    router.message.register(fluxstats, Command("fluxstats"))
    return router
