"""Summaries written by a model in the reader's language, through the real dispatcher (/digest) and a remote
OpenAI-compatible model served by the loopback fake over HTTP: Persian and Hebrew previews show the model's summary
and which model wrote it; a wrong-language, failed (500), hung or garbage answer falls back to the marked original
with its reason, logged without user content; no configured model says so. Delivered issues carry no provenance."""
import logging
import re

import pytest

from digests.language import answered_language
from digests.summary import clean_answer, unusable
from fakes.openai_api import SUMMARIES, FakeOpenAI, Scripted
from models.config import ModelSettings, RemoteModel
from models.hub import ModelHub

TOPICS = "leakage, spelling, preference, low-rank, reasoning"
MODEL = "multilingual"
FSI, PDI = "\u2068", "\u2069"
# Sample papers without a post in the reader's language (digests/samples/posts.jsonl): the model summarizes them.
NO_POST = {"fa": ["LoRA: Low-Rank"], "he": ["Direct Preference Optimization", "Chain-of-Thought"]}
WITH_POST = {"fa": ["Does Liking Yellow", "Character-Aware", "Direct Preference", "Chain-of-Thought"],
             "he": ["Does Liking Yellow", "Character-Aware", "LoRA: Low-Rank"]}
WRITTEN_BY = {"fa": f"خلاصه را مدل {FSI}{MODEL}{PDI} نوشته است", "he": f"הסיכום נכתב על ידי {FSI}{MODEL}{PDI}",
              "en": f"summary written by {MODEL}", "ru": f"резюме написала модель {MODEL}"}
ORIGINAL = {"fa": "به زبان اصلی", "he": "בשפת המקור", "en": "[in ", "ru": "на языке оригинала"}


@pytest.fixture(scope="module")
async def remote():
    """The fake endpoint and a hub whose DIGEST_SUMMARY_MODEL candidate is a chat model behind it (no retries, so
    a scripted 500 is the answer)."""
    server = await FakeOpenAI().start()
    hub = ModelHub(ModelSettings(remote_models={MODEL: RemoteModel(
        base_url=server.base_url, model="aya-expanse-8b", prompt_style="chat", retries=0, timeout_s=10)}))
    yield server, hub
    await hub.close()
    await server.stop()


@pytest.fixture
def server(remote):
    fake = remote[0]
    fake.requests.clear()
    fake.script.clear()
    fake.always = None
    yield fake
    fake.always = None


def last_text(calls) -> str:
    return [c.text for c in calls if c.name == "sendMessage"][-1]


async def subscribe(chat, arguments: str) -> int:
    return int(re.search(r"#(\d+)", last_text(await chat.send(f"/subscribe {arguments}"))).group(1))


async def preview(make_harness, hub, language: str, **settings) -> tuple[object, int, str]:
    harness = await make_harness(hub=hub, **settings)
    await harness.dp["digests"].load_samples()
    chat = harness.chat(user_id=31, lang=language)
    subscription = await subscribe(chat, f"{TOPICS} lang={language} size=10")
    return harness, subscription, last_text(await chat.send("/digest"))


def entries(text: str) -> dict[str, list[str]]:
    """Each numbered paper entry's lines (title, summary, provenance, sources), keyed by its title."""
    found = {}
    for part in re.split(r"<b>\d+\.</b> ", text)[1:]:
        lines = part.strip().split("\n")
        found[re.sub(r"<[^>]+>|[\u2068\u2069]", "", lines[0])] = lines
    return found


def entry(found: dict[str, list[str]], title: str) -> list[str]:
    return next(lines for name, lines in found.items() if name.startswith(title))


@pytest.mark.parametrize("language", ["fa", "he"])
async def test_remote_model_writes_the_summary_in_the_readers_language(make_harness, remote, server, language):
    harness, subscription, text = await preview(make_harness, remote[1], language, digest_summary_model=MODEL)
    found = entries(text)
    for title in NO_POST[language]:
        summary, origin = entry(found, title)[1:3]
        assert SUMMARIES[language] in summary and ORIGINAL[language] not in summary, summary
        assert answered_language(summary, language) == language
        assert origin == f"<i>ℹ️ {WRITTEN_BY[language]}</i>"
    for title in WITH_POST[language]:  # a post in the reader's language is quoted: no model call for it
        assert "ℹ️" in entry(found, title)[2] and MODEL not in entry(found, title)[2]
    # One chat request per paper without a post, greedy, bounded, naming the target language.
    assert len(server.requests) == len(NO_POST[language])
    name = {"fa": "Persian", "he": "Hebrew"}[language]
    for request in server.requests:
        assert request["model"] == "aya-expanse-8b" and request["temperature"] == 0.0
        assert request["max_tokens"] == 96 and f"in {name}" in request["messages"][0]["content"]
    # The delivered issue has the same summaries but no provenance lines (those are for the preview).
    delivered = (await harness.dp["digests"].build_issue(subscription)).text
    assert SUMMARIES[language] in delivered and "ℹ️" not in delivered


@pytest.mark.parametrize(("language", "step", "reason"), [
    ("fa", Scripted(language="en"), f"زبان نادرست — {FSI}{MODEL}{PDI} به زبان {FSI}en{PDI} پاسخ داد"),
    ("fa", Scripted(language="ar"), f"به زبان {FSI}ar{PDI} پاسخ داد"),  # Arabic script, but not Persian
    ("he", Scripted(language="ru"), f"שפה שגויה — {FSI}{MODEL}{PDI} ענה בשפה {FSI}ru{PDI}"),
    ("he", Scripted(status=500), f"{FSI}{MODEL}{PDI} נכשל: {FSI}HTTP 500{PDI}"),
    ("ru", Scripted(delay_s=2.0), f"сбой {MODEL}: тайм-аут"),  # a hung endpoint: DIGEST_SUMMARY_TIMEOUT_S
    ("ru", Scripted(text="модель модель модель модель модель модель модель"), "непригоден (повторы)"),
    ("fa", Scripted(text=""), f"({FSI}خالی{PDI})"),
], ids=["fa-answers-en", "fa-answers-ar", "he-answers-ru", "he-500", "ru-timeout", "ru-loop", "fa-empty"])
async def test_unusable_answers_fall_back_to_the_marked_original_with_the_reason(make_harness, remote, server, caplog,
                                                                                 language, step, reason):
    server.always = step
    caplog.set_level(logging.INFO, logger="digests.summary")
    _, _, text = await preview(make_harness, remote[1], language, digest_summary_model=MODEL,
                               digest_summary_timeout_s=0.5)
    found = entries(text)
    titles = NO_POST.get(language) or ["Direct Preference Optimization"]  # ru: the only paper without a ru post
    for title in titles:
        summary, origin = entry(found, title)[1:3]
        assert ORIGINAL[language] in summary, summary  # the original, marked
        assert reason in origin, origin
    records = [r.getMessage() for r in caplog.records if r.name == "digests.summary"]
    assert len(records) == len(titles) == len(server.requests), records
    for line in records:  # ids and the reason only: no title, abstract or model text
        assert re.fullmatch(r"digest summary paper=\d+ lang=\w\w model=multilingual outcome=[\w-]+ detail=[\w -]+",
                            line), line
        assert not any(word in line for word in ("LoRA", "Preference", "Chain", "модель", "این"))


@pytest.mark.parametrize(("settings", "reason"), [
    ({}, f"אין סיכום של מודל: לא הוגדר מודל ({FSI}DIGEST_SUMMARY_MODEL{PDI})"),
    ({"digest_summary_model": "no-such-model"},
     f"אין סיכום של מודל: {FSI}no-such-model{PDI} אינו זמין: {FSI}מודל לא מוכר{PDI}"),
], ids=["not-configured", "unknown-model"])
async def test_no_model_gives_the_reason(make_harness, remote, server, settings, reason):
    harness = await make_harness(hub=remote[1], **settings)
    await harness.dp["digests"].load_samples()
    chat = harness.chat(user_id=32, lang="en")
    english = await subscribe(chat, "reasoning lang=en size=3")
    hebrew = await subscribe(chat, "reasoning lang=he size=3")  # Chain-of-Thought has no Hebrew post
    assert "own abstract" in last_text(await chat.send(f"/digest {english}"))  # no model needed, and it says so
    text = last_text(await chat.send(f"/digest {hebrew}"))
    summary, origin = entry(entries(text), "Chain-of-Thought")[1:3]
    assert ORIGINAL["he"] in summary and reason in origin, origin
    assert not server.requests


@pytest.mark.parametrize(("text", "language", "found"), [
    ("این مقاله نشان می‌دهد که مدل‌های زبانی مفاهیم نامربوط را وارد متن می‌کنند.", "fa", "fa"),
    ("روش LoRA وزن‌ها را ثابت نگه می‌دارد و فقط ماتریس‌های کوچک را آموزش می‌دهد.", "fa", "fa"),  # Latin term
    ("تظهر هذه الورقة أن النماذج اللغوية تدخل مفاهيم غير ذات صلة في النص.", "fa", "ar"),
    ("یہ مقالہ دکھاتا ہے کہ زبان کے ماڈل غیر متعلقہ تصورات کو متن میں شامل کرتے ہیں۔", "fa", "ur"),
    ("The paper shows that language models leak unrelated concepts into text.", "fa", "en"),
    ("המאמר מראה שמודלי שפה מכניסים מושגים לא קשורים לטקסט.", "he", "he"),
    ("LoRA: במקום לאמן את כל המשקלים, מאמנים מטריצות בדרגה נמוכה.", "he", "he"),
    ("Статья показывает, что языковые модели вносят в текст посторонние понятия.", "he", "ru"),
    ("Статья показывает, что языковые модели вносят в текст посторонние понятия.", "ru", "ru"),
    ("Стаття показує, що мовні моделі вносять у текст сторонні поняття.", "ru", "uk"),
    ("Die Arbeit zeigt, dass Sprachmodelle fremde Begriffe in den Text tragen.", "en", "de"),
    ("The paper shows that language models leak unrelated concepts into text.", "en", "en"),
    ("12345 — 67890", "ru", "unknown"),
])
def test_language_and_script_check(text, language, found):
    assert answered_language(text, language) == found


def test_answers_are_cleaned_and_garbage_is_refused():
    assert clean_answer('Summary: "The model leaks."\n\nNext paper: …') == "The model leaks."
    assert clean_answer("**خلاصه:** «این مقاله درباره نشت است.»") == "این مقاله درباره نشت است."
    assert unusable("") == "empty" and unusable("Да.") == "too-short"
    assert unusable("the the the the the the the the model") == "repetitive"
    assert unusable(SUMMARIES["he"]) is None


@pytest.mark.slow  # 20-80 s per model on the shared 2-core machine (load, a 400-token prompt, 16 tokens)
@pytest.mark.parametrize("model", ["gemma-3-270m", "smollm2-135m-instruct"])
async def test_a_local_model_is_asked_through_the_engine_and_judged(make_harness, hub, caplog, model):
    """The embedded models (a base model with a completion prompt, an instruct model with its chat template) run
    through the engine's worker thread; whatever they write is judged, and the preview names the model and the
    verdict. They are too small to write Hebrew (docs/digests.md): a Hebrew-script sentence is required to pass."""
    caplog.set_level(logging.INFO, logger="digests.summary")
    harness = await make_harness(hub=hub, digest_summary_model=model, digest_summary_max_tokens=16,
                                 digest_summary_timeout_s=600)  # a shared, loaded CPU: the verdict is tested here
    await harness.dp["digests"].load_samples()
    chat = harness.chat(user_id=35, lang="he")
    await subscribe(chat, "reasoning lang=he size=1")  # Chain-of-Thought: no Hebrew post, so the model is asked
    summary, origin = entry(entries(last_text(await chat.send("/digest"))), "Chain-of-Thought")[1:3]
    [line] = [r.getMessage() for r in caplog.records if r.name == "digests.summary"]
    outcome = re.search(r"outcome=([\w-]+)", line).group(1)
    assert f"model={model}" in line and outcome in ("model", "wrong-language", "unusable"), line  # asked, answered
    assert f"{FSI}{model}{PDI}" in origin
    if outcome == "model":
        assert answered_language(summary, "he") == "he" and ORIGINAL["he"] not in summary
    else:
        assert ORIGINAL["he"] in summary
