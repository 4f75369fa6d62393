"""/leak and /leakbench: semantic-leakage probes in the chat (models/leakage does the work)."""
import random
import time

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import CommandSpec
from bot.config import Settings
from bot.i18n import Html, Translator
from bot.render import bar, escape, isolate
from bot.sending import answer_long, chat_action, send_long
from handlers.model_errors import model_error_text
from models.errors import ModelError
from models.leakage.probes import LeakProbe, load_suite
from models.leakage.runner import ProbeRun, run_probe
from models.leakage.userprobe import UserProbeError, UserProbeLimits, parse_user_probe
from storage.repo.leak import get_leak_result, save_leak_result

router = Router(name="leak")
commands = [
    CommandSpec("leak", "cmd-leak", usage_key="leak-usage", expensive=True),
    CommandSpec("leakbench", "cmd-leakbench", admin_only=True, expensive=True),
]


class LeakAction(CallbackData, prefix="leak"):
    action: str  # again | model | samples
    result_id: int


def _suite() -> list[LeakProbe]:
    global _SUITE
    if _SUITE is None:
        _SUITE = load_suite()
    return _SUITE


_SUITE: list[LeakProbe] | None = None


def pick_probe(language: str) -> LeakProbe:
    probes = _suite()
    mine = [probe for probe in probes if probe.language == language]
    return random.choice(mine or probes)


def _f(value: float) -> str:
    return f"{value:.1f}"


def render_run(run: ProbeRun, l10n: Translator) -> str:
    best = run.best_example()
    lo, hi = run.ci95
    csim = sum(run.control_similarity) / len(run.control_similarity)
    tsim = sum(run.test_similarity) / len(run.test_similarity)
    verdict = "leak-verdict-leak" if lo > 50 else "leak-verdict-none"
    lines = [
        l10n("leak-title", model=run.model),
        l10n("leak-concept", concept=run.probe.concept),
        l10n("leak-control", prompt=run.probe.control, continuation=run.control[best] or "…"),
        l10n("leak-test", prompt=run.probe.test, continuation=run.test[best] or "…"),
        l10n("leak-rate", rate=_f(run.leak_rate), low=_f(lo), high=_f(hi), pairs=str(len(run.scores)),
             p=f"{run.p_value:.2g}"),
        l10n(verdict),
        l10n("leak-similarity", cbar=bar(max(csim, 0)), csim=f"{csim:.2f}", tbar=bar(max(tsim, 0)), tsim=f"{tsim:.2f}"),
        l10n("leak-time", seconds=f"{run.seconds:.1f}"),
    ]
    return Html("\n".join(lines))


def keyboard(result_id: int, l10n: Translator):
    builder = InlineKeyboardBuilder()
    for action, key in (("again", "leak-btn-again"), ("model", "leak-btn-model"), ("samples", "leak-btn-samples")):
        builder.button(text=l10n(key), callback_data=LeakAction(action=action, result_id=result_id))
    return builder.adjust(3).as_markup()


async def run_and_reply(bot: Bot, chat_id: int, probe: LeakProbe, model: str, *, hub, settings: Settings,
                        session: AsyncSession, l10n: Translator, history, db_user, arguments: str) -> None:
    status = await bot.send_message(chat_id, l10n("leak-running", model=model))
    try:
        async with chat_action(bot, chat_id):
            engine = await hub.text(model).ready()
            embedder = await hub.embedder().ready()
            run = await run_probe(engine, embedder, probe, n=settings.leak_samples,
                                  temperatures=(settings.leak_temperature,), seed=random.randrange(2**31),
                                  max_new_tokens=settings.leak_max_new_tokens)
    except ModelError as error:
        await bot.edit_message_text(model_error_text(error, l10n, "leak"), chat_id=chat_id,
                                    message_id=status.message_id)
        await history.record("leak", arguments, status="rejected", result={"error": type(error).__name__},
                             model=model)
        return
    lo, hi = run.ci95
    saved = await save_leak_result(
        session, user_id=db_user.id if db_user else None, chat_id=chat_id, probe_id=probe.id,
        language=probe.language, concept=probe.concept, control=probe.control, test=probe.test, model=run.model,
        n=run.n, temperatures=run.temperatures, leak_rate=run.leak_rate, ci_low=lo, ci_high=hi, p_value=run.p_value,
        samples={"control": run.control, "test": run.test, "control_similarity": run.control_similarity,
                 "test_similarity": run.test_similarity})
    await bot.edit_message_text(render_run(run, l10n), chat_id=chat_id, message_id=status.message_id,
                                reply_markup=keyboard(saved.id, l10n))
    await history.record("leak", arguments, result={"probe": probe.id, "concept": probe.concept,
                                                    "leak_rate": round(run.leak_rate, 1),
                                                    "ci95": [round(lo, 1), round(hi, 1)]},
                         model=run.model, latency_ms=int(run.seconds * 1000))


@router.message(Command("leak"), flags={"expensive": True})
async def leak(message: Message, command: CommandObject, bot: Bot, hub, settings: Settings, session: AsyncSession,
               l10n: Translator, history, db_user) -> None:
    arguments = (command.args or "").strip()
    if not arguments:
        probe = pick_probe(l10n.lang)
    else:
        try:
            probe = parse_user_probe(arguments, UserProbeLimits(max_chars=settings.leak_max_chars))
        except UserProbeError as error:
            await message.answer(l10n(f"leak-err-{error.code}", **{k: str(v) for k, v in error.details.items()}))
            await history.record("leak", arguments, status="rejected", result={"reason": error.code})
            return
    await run_and_reply(bot, message.chat.id, probe, hub.settings.default_text_model, hub=hub, settings=settings,
                        session=session, l10n=l10n, history=history, db_user=db_user, arguments=arguments)


@router.callback_query(LeakAction.filter(F.action.in_({"again", "model"})), flags={"expensive": True})
async def leak_again(query: CallbackQuery, callback_data: LeakAction, bot: Bot, hub, settings: Settings,
                     session: AsyncSession, l10n: Translator, history, db_user) -> None:
    saved = await get_leak_result(session, callback_data.result_id)
    if saved is None or query.message is None:
        await query.answer(l10n("leak-stale"), show_alert=True)
        return
    await query.answer()
    model = saved.model
    if callback_data.action == "model":
        names = hub.text_models()
        model = names[(names.index(saved.model) + 1) % len(names)] if saved.model in names else names[0]
    probe = LeakProbe(saved.probe_id, "user" if saved.probe_id == "user" else "suite", saved.language,
                      saved.concept, saved.control, saved.test)
    await run_and_reply(bot, query.message.chat.id, probe, model, hub=hub, settings=settings, session=session,
                        l10n=l10n, history=history, db_user=db_user, arguments=f"{callback_data.action} {saved.id}")


@router.callback_query(LeakAction.filter(F.action == "samples"))
async def leak_samples(query: CallbackQuery, callback_data: LeakAction, bot: Bot, session: AsyncSession,
                       l10n: Translator) -> None:
    saved = await get_leak_result(session, callback_data.result_id)
    if saved is None or query.message is None:
        await query.answer(l10n("leak-stale"), show_alert=True)
        return
    await query.answer()
    samples = saved.samples
    lines = [l10n("leak-samples-title", model=saved.model, concept=saved.concept)]
    for index, (control, test, cs, ts) in enumerate(zip(samples["control"], samples["test"],
                                                         samples["control_similarity"], samples["test_similarity"]), 1):
        lines.append(f"{index}. {isolate(escape(control or '…'))} <code>{cs:.2f}</code> | "
                     f"{isolate(escape(test or '…'))} <code>{ts:.2f}</code>")
    await send_long(bot, query.message.chat.id, Html("\n".join(lines)))


@router.message(Command("leakbench"), flags={"expensive": True})
async def leakbench(message: Message, command: CommandObject, bot: Bot, hub, settings: Settings, l10n: Translator,
                    history, background) -> None:
    if not settings.is_admin(message.from_user.id if message.from_user else None):
        await message.answer(l10n("admin-only"))
        await history.record("leakbench", status="rejected", result={"reason": "not admin"})
        return
    model = (command.args or "").strip() or hub.settings.default_text_model
    try:
        hub.text(model)
    except ModelError as error:
        await message.answer(model_error_text(error, l10n, "leak"))
        await history.record("leakbench", model, status="rejected", result={"error": type(error).__name__})
        return
    probes = _suite()
    status = await message.answer(l10n("leak-bench-progress", model=model, done="0", total=str(len(probes))))
    background.spawn(_bench(bot, message.chat.id, status.message_id, model, probes, hub, settings, l10n),
                     name=f"leakbench-{model}")
    await history.record("leakbench", model, result={"probes": len(probes)}, model=model)


async def _bench(bot: Bot, chat_id: int, message_id: int, model: str, probes, hub, settings: Settings,
                 l10n: Translator) -> None:
    from models.leakage.__main__ import table
    from models.leakage.chart import leak_chart
    from models.leakage.runner import run_suite

    last_edit = 0.0

    async def progress(done: int, total: int) -> None:
        nonlocal last_edit
        if time.monotonic() - last_edit > 3 or done == total:  # edits are rate-limited by Telegram
            last_edit = time.monotonic()
            await bot.edit_message_text(l10n("leak-bench-progress", model=model, done=str(done), total=str(total)),
                                        chat_id=chat_id, message_id=message_id)

    try:
        engine = await hub.text(model).ready()
        embedder = await hub.embedder().ready()
        result = await run_suite(engine, embedder, probes, suite_name="default", n=settings.leak_bench_samples,
                                 temperatures=(0.0, 1.0), progress=progress)
    except ModelError as error:
        await bot.send_message(chat_id, model_error_text(error, l10n, "leak"))
        return
    text = l10n("leak-bench-done", model=model, seconds=f"{result.seconds:.0f}") + \
        f"\n<pre>{escape(table(result))}</pre>"
    await send_long(bot, chat_id, Html(text))
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as directory:
        path = leak_chart([result], Path(directory) / "leak.png")
        await bot.send_photo(chat_id, BufferedInputFile(path.read_bytes(), filename=f"leak-{model}.png"))
