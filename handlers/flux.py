"""/flux, /fluxtest, /fluxstats: FLUX prompt tests through hosted image APIs (models/imagegen does the work)."""
import random

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InputMediaPhoto, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import CommandSpec
from bot.i18n import Html, Translator
from bot.render import cut_caption, escape
from bot.sending import chat_action, send_long
from models.imagegen.errors import ImageGenError, NoKey
from models.imagegen.providers import Providers
from models.imagegen.runner import mean_score, run_item, run_suite
from models.imagegen.suites import SUITES, SuiteItem, suite_items
from storage.repo.flux import add_generation, images_today, suite_stats, tally, vote
from storage.schema.flux import FluxGeneration

router = Router(name="flux")
commands = [
    CommandSpec("flux", "cmd-flux", usage_key="flux-usage", expensive=True),
    CommandSpec("fluxtest", "cmd-fluxtest", expensive=True),
    CommandSpec("fluxstats", "cmd-fluxstats"),
]
MAX_PROMPT = 500


class FluxVoteButton(CallbackData, prefix="fv"):
    generation_id: int
    value: int


class FluxAction(CallbackData, prefix="fa"):
    action: str  # reroll | test
    generation_id: int


def keyboard(generation_id: int, up: int, down: int, l10n: Translator):
    builder = InlineKeyboardBuilder()
    builder.button(text=f"👍 {up}", callback_data=FluxVoteButton(generation_id=generation_id, value=1))
    builder.button(text=f"👎 {down}", callback_data=FluxVoteButton(generation_id=generation_id, value=-1))
    builder.button(text=l10n("flux-btn-reroll"), callback_data=FluxAction(action="reroll", generation_id=generation_id))
    builder.button(text=l10n("flux-btn-test"), callback_data=FluxAction(action="test", generation_id=generation_id))
    return builder.adjust(2, 2).as_markup()


def error_text(error: ImageGenError, l10n: Translator) -> str:
    if isinstance(error, NoKey):
        return l10n("flux-err-no-key")
    return l10n(f"flux-err-{error.code}", message=str(error))


async def over_limit(session: AsyncSession, settings, user_id: int | None, chat, l10n: Translator,
                     needed: int = 1) -> str | None:
    """The daily-limit message when `needed` more images would pass a user's or a chat's limit, else None."""
    limits = settings
    if user_id is not None and \
            await images_today(session, user_id=user_id) + needed > limits.flux_daily_limit_user:
        return l10n("flux-err-daily-user", limit=str(limits.flux_daily_limit_user))
    if chat.type != "private" and \
            await images_today(session, chat_id=chat.id) + needed > limits.flux_daily_limit_chat:
        return l10n("flux-err-daily-chat", limit=str(limits.flux_daily_limit_chat))
    return None


async def generate_and_send(bot: Bot, chat, prompt: str, *, imagegen: Providers, session: AsyncSession,
                            l10n: Translator, history, user_id: int | None, arguments: str) -> None:
    if (limit := await over_limit(session, imagegen.settings, user_id, chat, l10n)) is not None:
        await bot.send_message(chat.id, limit)
        await history.record("flux", arguments, status="rejected", result={"reason": "daily limit"})
        return
    seed = random.randrange(2**31)
    try:
        provider = imagegen.get()
        async with chat_action(bot, chat.id, "typing"):
            result = await run_item(provider, SuiteItem(prompt, "flux"), seed, None)
    except ImageGenError as error:
        result = None
        failure = error
    else:
        failure = None if result.status == "ok" else result
    if failure is not None:
        code = failure.code if isinstance(failure, ImageGenError) else failure.status
        message = error_text(failure, l10n) if isinstance(failure, ImageGenError) else \
            l10n(f"flux-err-{code}", message=failure.error or "")
        if result is not None:  # the provider answered: keep the failure, never as a success
            await add_generation(session, user_id=user_id, chat_id=chat.id, prompt=prompt, provider=provider.name,
                                 model=provider.model_id(imagegen.settings.imagegen_model), seed=seed, status=code,
                                 error=(result.error or "")[:500])
        await bot.send_message(chat.id, message)
        await history.record("flux", arguments, status="error" if code != "no-key" else "rejected",
                             result={"error": code})
        return
    image = result.image
    async with chat_action(bot, chat.id, "upload_photo"):
        generation = await add_generation(session, user_id=user_id, chat_id=chat.id, prompt=prompt,
                                          provider=image.provider, model=image.model, seed=image.seed, status="ok",
                                          url=image.url)
        caption = l10n("flux-caption", prompt=prompt, provider=image.provider, model=image.model,
                       seed=str(image.seed), seconds=f"{image.seconds:.1f}")
        sent = await bot.send_photo(chat.id, BufferedInputFile(image.data, filename=f"flux-{image.seed}.png"),
                                    caption=cut_caption(caption), reply_markup=keyboard(generation.id, 0, 0, l10n))
    generation.file_id = sent.photo[-1].file_id if sent.photo else None
    await history.record("flux", arguments, result={"generation": generation.id, "seed": image.seed},
                         model=image.model, latency_ms=int(image.seconds * 1000))


@router.message(Command("flux"), flags={"expensive": True})
async def flux(message: Message, command: CommandObject, bot: Bot, imagegen: Providers, session: AsyncSession,
               l10n: Translator, history, db_user) -> None:
    prompt = (command.args or "").strip()
    if not prompt:
        await message.answer(l10n("flux-usage"))
        await history.record("flux", status="rejected", result={"reason": "empty"})
        return
    if len(prompt) > MAX_PROMPT:
        await message.answer(l10n("text-too-long", limit=MAX_PROMPT))
        await history.record("flux", prompt[:100], status="rejected", result={"reason": "too long"})
        return
    if not imagegen.configured():
        await message.answer(l10n("flux-err-no-key"))
        await history.record("flux", prompt, status="rejected", result={"reason": "no key"})
        return
    await generate_and_send(bot, message.chat, prompt, imagegen=imagegen, session=session, l10n=l10n,
                            history=history, user_id=db_user.id if db_user else None, arguments=prompt)


@router.callback_query(FluxVoteButton.filter())
async def flux_vote(query: CallbackQuery, callback_data: FluxVoteButton, session: AsyncSession, l10n: Translator,
                    db_user) -> None:
    generation = await session.get(FluxGeneration, callback_data.generation_id)
    if generation is None or db_user is None or callback_data.value not in (1, -1):
        await query.answer(l10n("stale-button"))
        return
    up, down = await vote(session, generation.id, db_user.id, callback_data.value)
    await query.answer(l10n("flux-voted"))
    if isinstance(query.message, Message) and generation.suite is None:
        await query.message.edit_reply_markup(reply_markup=keyboard(generation.id, up, down, l10n))


@router.callback_query(FluxAction.filter(), flags={"expensive": True})
async def flux_action(query: CallbackQuery, callback_data: FluxAction, bot: Bot, imagegen: Providers,
                      session: AsyncSession, l10n: Translator, history, db_user) -> None:
    generation = await session.get(FluxGeneration, callback_data.generation_id)
    if generation is None or query.message is None:
        await query.answer(l10n("stale-button"))
        return
    await query.answer()
    chat = query.message.chat
    if callback_data.action == "test":
        await run_test(bot, chat, "upside-down", generation.prompt, imagegen=imagegen, session=session, l10n=l10n,
                       history=history, user_id=db_user.id if db_user else None)
        return
    await generate_and_send(bot, chat, generation.prompt, imagegen=imagegen, session=session, l10n=l10n,
                            history=history, user_id=db_user.id if db_user else None,
                            arguments=f"reroll {generation.id}")


async def run_test(bot: Bot, chat, suite: str, subject: str | None, *, imagegen: Providers, session: AsyncSession,
                   l10n: Translator, history, user_id: int | None) -> None:
    arguments = f"{suite} {subject or ''}".strip()
    needed = len(suite_items(suite, subject))  # a whole suite must fit in what is left of today's images
    if (limit := await over_limit(session, imagegen.settings, user_id, chat, l10n, needed)) is not None:
        await bot.send_message(chat.id, limit)
        await history.record("fluxtest", arguments, status="rejected", result={"reason": "daily limit"})
        return
    try:
        provider = imagegen.get()
    except ImageGenError as error:
        await bot.send_message(chat.id, error_text(error, l10n))
        await history.record("fluxtest", arguments, status="rejected", result={"error": error.code})
        return
    async with chat_action(bot, chat.id, "typing"):
        seed, results = await run_suite(provider, suite, subject)
    media, failures = [], []
    for result in results:
        stored = await add_generation(
            session, user_id=user_id, chat_id=chat.id, suite=suite, label=result.item.label[:128],
            prompt=result.item.prompt, provider=provider.name,
            model=result.image.model if result.image else provider.model_id(imagegen.settings.imagegen_model),
            seed=seed, status=result.status, url=result.image.url if result.image else None,
            ocr_text=result.ocr_text, score=result.score, error=(result.error or "")[:500] or None)
        if result.status != "ok":
            failures.append(f"• {escape(result.item.label)}: {l10n(f'flux-err-{result.status}', message='')}")
            continue
        score = "" if result.score is None else " · " + l10n("flux-ocr-score", score=f"{result.score:.2f}",
                                                             text=result.ocr_text or "∅")
        caption = cut_caption(f"{escape(result.item.label)} · seed {seed}{score}\n{escape(result.item.prompt)}")
        media.append((stored, InputMediaPhoto(media=BufferedInputFile(result.image.data, f"{stored.id}.png"),
                                              caption=caption)))
    if media:
        async with chat_action(bot, chat.id, "upload_photo"):
            for start in range(0, len(media), 10):  # an album holds at most 10 photos
                sent = await bot.send_media_group(chat.id, [item for _, item in media[start:start + 10]])
                for (stored, _), message in zip(media[start:start + 10], sent):
                    stored.file_id = message.photo[-1].file_id if message.photo else None
    summary = l10n("flux-test-summary", suite=suite, provider=provider.name, seed=str(seed),
                   ok=str(len(media)), total=str(len(results)))
    score = mean_score(results)
    if score is not None:
        summary += "\n" + l10n("flux-test-mean", score=f"{score:.2f}")
    elif suite != "text":
        summary += "\n" + l10n("flux-test-vote")
    await send_long(bot, chat.id, Html("\n".join([summary, *failures])))
    await history.record("fluxtest", arguments, status="ok" if media else "error",
                         result={"seed": seed, "ok": len(media), "total": len(results), "mean_score": score},
                         model=provider.name)


@router.message(Command("fluxtest"), flags={"expensive": True})
async def fluxtest(message: Message, command: CommandObject, bot: Bot, imagegen: Providers, session: AsyncSession,
                   l10n: Translator, history, db_user) -> None:
    suite, _, subject = (command.args or "").strip().partition(" ")
    if suite not in SUITES:
        await message.answer(l10n("flux-test-usage", suites=", ".join(sorted(SUITES))))
        await history.record("fluxtest", command.args or "", status="rejected", result={"reason": "suite"})
        return
    if len(subject) > MAX_PROMPT:
        await message.answer(l10n("text-too-long", limit=MAX_PROMPT))
        return
    if not imagegen.configured():
        await message.answer(l10n("flux-err-no-key"))
        await history.record("fluxtest", suite, status="rejected", result={"reason": "no key"})
        return
    await run_test(bot, message.chat, suite, subject.strip() or None, imagegen=imagegen, session=session,
                   l10n=l10n, history=history, user_id=db_user.id if db_user else None)


@router.message(Command("fluxstats"))
async def fluxstats(message: Message, session: AsyncSession, l10n: Translator, history) -> None:
    rows = await suite_stats(session)
    if not rows:
        await message.answer(l10n("flux-stats-empty"))
        return
    lines = [l10n("flux-stats-title")]
    for suite, model, score, share, count in rows:
        lines.append(f"• {escape(suite)} · {escape(model)}: " + l10n(
            "flux-stats-row", count=str(count), score="–" if score is None else f"{score:.2f}",
            share="–" if share is None else f"{share * 100:.0f}%"))
    await message.answer(Html("\n".join(lines)))
    await history.record("fluxstats")
