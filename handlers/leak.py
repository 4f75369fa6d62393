"""/leak and /leakbench: semantic-leakage probes in the chat (services/leak.py decides and stores, models/leakage
computes; this module parses, calls the service and renders)."""
import time

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatkit.parsing import RowId
from chatkit.render import bar, escape, isolate
from handlers.commands import CommandSpec, replied_text
from handlers.failures import feature_router
from handlers.i18n import Html, Translator
from handlers.jobs import JobRegistry
from handlers.model_errors import model_error_text
from handlers.sending import chat_action, send_long
from handlers.settings import Settings
from models.errors import ModelError
from models.hub import ModelHub
from models.leakage.probes import LeakProbe
from models.leakage.runner import ProbeRun
from models.registry import best_embedder, weak_measure_accuracy
from services.history import HistoryRecorder, Progress
from services.leak import LeakBench, LeakPolicy, LeakService, StoredLeak
from storage.schema.core import User

commands = [
    CommandSpec("leak", "cmd-leak", usage_key="leak-usage", expensive=True),
    CommandSpec("leakbench", "cmd-leakbench", admin_only=True, expensive=True),
]


class LeakAction(CallbackData, prefix="leak"):
    action: str  # again | model | samples
    result_id: RowId


def service(session: AsyncSession | None, hub: ModelHub, settings: Settings) -> LeakService:
    return LeakService(session, hub, LeakPolicy(samples=settings.leak_samples, temperature=settings.leak_temperature,
                                                max_new_tokens=settings.leak_max_new_tokens,
                                                max_chars=settings.leak_max_chars,
                                                bench_samples=settings.leak_bench_samples))


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
    measure = run.embedder or best_embedder(run.probe.language)
    weak = weak_measure_accuracy(measure, run.probe.language)
    if weak is not None:
        # This language's measure is weak on sentence-level association (models/embedder_choice.json): the rate is
        # pulled toward 50, so it is shown with the measure's accuracy as a conservative number (docs/leakage.md).
        lines.append(l10n("leak-weak-measure", language=run.probe.language, measure=measure, accuracy=f"{weak:.2f}"))
    return Html("\n".join(lines))


def render_samples(stored: StoredLeak, l10n: Translator) -> str:
    lines = [l10n("leak-samples-title", model=stored.model, concept=stored.concept)]
    for index, row in enumerate(stored.samples, 1):
        lines.append(f"{index}. {isolate(escape(row.control or '…'))} <code>{row.control_similarity:.2f}</code> | "
                     f"{isolate(escape(row.test or '…'))} <code>{row.test_similarity:.2f}</code>")
    return Html("\n".join(lines))


def keyboard(result_id: int, l10n: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for action, key in (("again", "leak-btn-again"), ("model", "leak-btn-model"), ("samples", "leak-btn-samples")):
        builder.button(text=l10n(key), callback_data=LeakAction(action=action, result_id=result_id))
    return InlineKeyboardMarkup(inline_keyboard=builder.adjust(3).export())


async def run_and_reply(bot: Bot, chat_id: int, probe: LeakProbe, model: str, leak: LeakService, *,
                        l10n: Translator, history: HistoryRecorder, db_user: User | None, arguments: str) -> None:
    history.begin("leak", arguments, model=model)
    status = await bot.send_message(chat_id, l10n("leak-running", model=model))
    history.progress = Progress(chat_id, status.message_id)  # a model error replaces this message
    async with chat_action(bot, chat_id):
        outcome = await leak.run(probe, model, user_id=db_user.id if db_user else None, chat_id=chat_id)
    run = outcome.run
    await bot.edit_message_text(render_run(run, l10n), chat_id=chat_id, message_id=status.message_id,
                                reply_markup=keyboard(outcome.result_id, l10n))
    lo, hi = run.ci95
    await history.record("leak", arguments, result={"probe": probe.id, "concept": probe.concept,
                                                    "leak_rate": round(run.leak_rate, 1),
                                                    "ci95": [round(lo, 1), round(hi, 1)]},
                         model=run.model, latency_ms=int(run.seconds * 1000))


async def leak(message: Message, command: CommandObject, bot: Bot, hub: ModelHub, settings: Settings,
               session: AsyncSession, l10n: Translator, history: HistoryRecorder, db_user: User | None) -> None:
    arguments = (command.args or "").strip()
    replied = replied_text(message)
    if replied is not None and "|" not in arguments:
        # A reply: the replied message is the prompt, the typed words the concept (docs/leakage.md).
        arguments = f"{arguments} | {replied}"
    history.begin("leak", arguments)
    probes = service(session, hub, settings)
    probe = probes.probe_for(arguments, l10n.lang)
    await run_and_reply(bot, message.chat.id, probe, probes.default_model(), probes, l10n=l10n, history=history,
                        db_user=db_user, arguments=arguments)


async def leak_again(query: CallbackQuery, callback_data: LeakAction, bot: Bot, hub: ModelHub, settings: Settings,
                     session: AsyncSession, l10n: Translator, history: HistoryRecorder, db_user: User | None) -> None:
    probes = service(session, hub, settings)
    history.begin("leak", f"{callback_data.action} {callback_data.result_id}")
    stored = await probes.stored(callback_data.result_id)
    if query.message is None:  # too old for Telegram to include: nowhere to answer
        await query.answer(l10n("leak-stale"), show_alert=True)
        return
    await query.answer()
    model = probes.next_model(stored.model) if callback_data.action == "model" else stored.model
    await run_and_reply(bot, query.message.chat.id, stored.probe, model, probes, l10n=l10n, history=history,
                        db_user=db_user, arguments=f"{callback_data.action} {stored.id}")


async def leak_samples(query: CallbackQuery, callback_data: LeakAction, bot: Bot, hub: ModelHub, settings: Settings,
                       session: AsyncSession, l10n: Translator, history: HistoryRecorder) -> None:
    history.begin("leak", f"samples {callback_data.result_id}")
    stored = await service(session, hub, settings).stored(callback_data.result_id)
    if query.message is None:
        await query.answer(l10n("leak-stale"), show_alert=True)
        return
    await query.answer()
    await send_long(bot, query.message.chat.id, render_samples(stored, l10n))


async def leakbench(message: Message, command: CommandObject, bot: Bot, hub: ModelHub, settings: Settings,
                    l10n: Translator, history: HistoryRecorder, jobs: JobRegistry,
                    sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    # Who may: the bot's admins (CommandSpec admin_only), checked by the guard router before this runs.
    probes = service(None, hub, settings)
    model = (command.args or "").strip() or probes.default_model()
    history.begin("leakbench", model)
    suite = probes.bench_probes(model)  # an unknown model is answered now, by the error router
    status = await message.answer(l10n("leak-bench-progress", model=model, done="0", total=str(len(suite))))
    jobs.spawn(_bench(bot, message.chat.id, status.message_id, model, probes, l10n),
               name=f"leakbench-{model}", bot=bot, sessionmaker=sessionmaker, chat_id=message.chat.id,
               user_id=message.from_user.id if message.from_user else None, command="leakbench", arguments=model,
               status_message_id=status.message_id, cancelled_text=l10n("job-cancelled"))
    await history.record("leakbench", model, result={"probes": len(suite)}, model=model)


async def _bench(bot: Bot, chat_id: int, message_id: int, model: str, probes: LeakService,
                 l10n: Translator) -> None:
    """Background work after the update: its errors have no router to go to, so the model's is said here."""
    last_edit = 0.0

    async def progress(done: int, total: int) -> None:
        nonlocal last_edit
        if time.monotonic() - last_edit > 3 or done == total:  # edits are rate-limited by Telegram
            last_edit = time.monotonic()
            await bot.edit_message_text(l10n("leak-bench-progress", model=model, done=str(done), total=str(total)),
                                        chat_id=chat_id, message_id=message_id)

    try:
        bench: LeakBench = await probes.bench(model, progress)
    except ModelError as error:
        await bot.send_message(chat_id, model_error_text(error, l10n, "leak"))
        return
    text = l10n("leak-bench-done", model=model, seconds=f"{bench.result.seconds:.0f}") + \
        f"\n<pre>{escape(bench.table)}</pre>"
    await send_long(bot, chat_id, Html(text))
    await bot.send_photo(chat_id, BufferedInputFile(bench.chart_png, filename=f"leak-{model}.png"))


# Minutes of model work inside the update: a run that a crash cut is told as interrupted, not run again when the
# update is (handlers/jobs.py JobMiddleware). /leakbench's update only starts its own job (spawned, journaled too).
JOURNALED = {"expensive": True, "journaled": True}  # copied per handler: filters add their own flags


def create_router() -> Router:
    router = feature_router("leak", model_errors="leak")
    router.message.register(leak, Command("leak"), flags={**JOURNALED})
    router.callback_query.register(leak_again, LeakAction.filter(F.action.in_({"again", "model"})),
                                   flags={**JOURNALED})
    router.callback_query.register(leak_samples, LeakAction.filter(F.action == "samples"))
    router.message.register(leakbench, Command("leakbench"), flags={"expensive": True})
    return router

