"""A paper's one-sentence summary written by a text model in the reader's language, checked before it is used.

The model is any registry text model: a remote OpenAI-compatible endpoint (chat models through
`/v1/chat/completions`, base models through `/v1/completions`) or a local one through the engine (off the event
loop). Greedy, bounded tokens, a timeout. The answer must be in the reader's language and script
(`digests.language.answered_language`) and look like a sentence; otherwise the caller keeps the marked original.
Every outcome is a `Provenance` (shown in /digest previews) and one log line with ids and the reason only."""
import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any

from digests.language import answered_language
from models.errors import (
    BadRequest,
    EngineBusy,
    EngineClosed,
    ModelError,
    ModelUnavailable,
    RemoteError,
    RequestTimeout,
    UnknownModel,
)

log = logging.getLogger(__name__)
LANGUAGE_NAMES = {"en": "English", "ru": "Russian", "fa": "Persian", "he": "Hebrew"}
NATIVE_NAMES = {"en": "English", "ru": "русский", "fa": "فارسی", "he": "עברית"}
ABSTRACT_CHARS = 1200  # keeps the prompt well under the local engine's prompt-token limit in every script
MIN_LETTERS = 20
SETTING = "DIGEST_SUMMARY_MODEL"  # named in the "not configured" reason
CONCURRENCY = 4  # papers summarized at once (a local engine batches them; a remote one gets a few requests)


@dataclass(frozen=True)
class Provenance:
    """Who wrote a paper's summary, or why no model did. `kind`: abstract (the paper is in the reader's language),
    post (a grouped post in it), model, not-configured, unavailable, failed, wrong-language, unusable. `detail`
    is a language code or a reason code (timeout, HTTP 500, empty, too-short, repetitive, unknown-model, …: Fluent
    selects on it, so codes are identifiers) — never user or model text."""
    kind: str
    model: str = ""
    detail: str = ""

    @property
    def fallback(self) -> bool:
        return self.kind not in ("abstract", "post", "model")


def instruction(language: str) -> str:
    return (f"You summarize machine-learning papers for a chat digest. Answer with exactly one sentence written in "
            f"{LANGUAGE_NAMES[language]} ({NATIVE_NAMES[language]}), in {LANGUAGE_NAMES[language]} script, and "
            f"nothing else.")


def chat_request(title: str, abstract: str, language: str) -> str:
    return (f"Title: {title}\nAbstract: {abstract[:ABSTRACT_CHARS]}\n\nWrite a one-sentence summary of this paper in "
            f"{LANGUAGE_NAMES[language]}.")


def completion_prompt(title: str, abstract: str, language: str) -> str:
    """For base models, which continue text: the task stated, then the start of the answer to continue."""
    name = LANGUAGE_NAMES[language]
    return (f"Summarize the following paper abstract in one sentence, written in {name}.\n\n"
            f"Title: {title}\nAbstract: {abstract[:ABSTRACT_CHARS]}\n\nOne-sentence summary in {name}:")


_LABEL = re.compile(r"^\s*(?:\*\*)?(?:one-sentence summary|summary|резюме|кратко|краткое содержание|خلاصه|"
                    r"چکیده|תקציר|סיכום)(?:\s+in\s+\w+)?\s*[:：]\s*(?:\*\*)?\s*", re.IGNORECASE)
_WRAPPERS = "\"'“”«»„*`"


def clean_answer(text: str) -> str:
    """The answer's first paragraph, whitespace folded, a leading "Summary:" label and wrapping quotes removed."""
    paragraph = next((p for p in re.split(r"\n\s*\n", text or "") if p.strip()), "")
    folded = _LABEL.sub("", " ".join(paragraph.split()))
    return folded.strip(_WRAPPERS + " ").strip()


def unusable(text: str) -> str | None:
    """A reason code when the answer is not a usable sentence (empty, too short, a loop), else None."""
    letters = sum(c.isalpha() for c in text)
    if not text:
        return "empty"
    if letters < MIN_LETTERS:
        return "too-short"
    words = [w.casefold() for w in re.findall(r"\w+", text)]
    # A loop (small models' usual failure in a script they barely know): few distinct words, or one word all over.
    top = max((words.count(w) for w in set(words) if len(w) >= 4), default=0)  # not "the", "и", "را"
    if len(words) >= 6 and (len(set(words)) / len(words) < 0.5 or top / len(words) > 0.25):
        return "repetitive"
    return None


def failure_reason(error: BaseException) -> str:
    """A short code for why a model call failed (the error's own message may quote the endpoint's text)."""
    message = str(error)
    if isinstance(error, (RequestTimeout, TimeoutError)) or "timed out" in message:
        return "timeout"
    if isinstance(error, RemoteError):
        status = re.search(r"HTTP (\d{3})", message)
        if status or error.status:
            return f"HTTP {status.group(1) if status else error.status}"
        if "connection failed" in message:
            return "connection-failed"
        return "malformed-response"
    for kind, code in ((EngineBusy, "busy"), (EngineClosed, "shut-down"), (BadRequest, "bad-request"),
                       (ModelUnavailable, "not-available")):
        if isinstance(error, kind):
            return code
    return type(error).__name__


class Summarizer:
    """One configured summary model for one digest run; `summarize` never raises."""

    def __init__(self, engine: Any, *, timeout_s: float, max_new_tokens: int):
        self.engine, self.timeout_s, self.max_new_tokens = engine, timeout_s, max_new_tokens
        self.name: str = engine.name
        self._slots = asyncio.Semaphore(CONCURRENCY)

    async def summarize(self, paper_id: int, title: str, abstract: str, language: str) -> tuple[str, Provenance]:
        """(summary, provenance): the checked summary, or "" with the reason no model summary is used."""
        try:
            await self.engine.ready()  # a local model's first load is not the paper's time (it is bounded anyway)
            async with self._slots:
                raw = await asyncio.wait_for(self.ask(title, abstract, language), self.timeout_s)
        except Exception as error:  # noqa: BLE001 - every failure falls back to the marked original, with its reason
            return self._outcome(paper_id, language, "", Provenance("failed", self.name, failure_reason(error)))
        return self._outcome(paper_id, language, *judge(raw, language, self.name))

    async def ask(self, title: str, abstract: str, language: str) -> str:
        """The model's raw answer (raises what the engine raises)."""
        engine = self.engine
        await engine.ready()
        if engine.spec.backend == "remote" and engine.spec.prompt_style == "chat":
            messages = [{"role": "system", "content": instruction(language)},
                        {"role": "user", "content": chat_request(title, abstract, language)}]
            return str(await engine.chat(messages, temperature=0.0, max_new_tokens=self.max_new_tokens,
                                         timeout=self.timeout_s))
        if engine.spec.prompt_style == "chat":  # a local instruct model: its own chat template
            prompt = engine.format_prompt(chat_request(title, abstract, language), instruction(language))
        else:
            prompt = completion_prompt(title, abstract, language)
        # No stop sequence: a base model often opens with a blank line, and a "\n\n" stop would cut the answer to
        # nothing; clean_answer keeps the first paragraph that has text.
        out = await engine.generate([prompt], n=1, temperature=0.0, max_new_tokens=self.max_new_tokens,
                                    timeout=self.timeout_s)
        return str(out[0][0])

    @staticmethod
    def _outcome(paper_id: int, language: str, text: str, provenance: Provenance) -> tuple[str, Provenance]:
        # Ids and reason codes only: no title, abstract or model text in the log.
        level = logging.INFO if provenance.kind == "model" else logging.WARNING
        log.log(level, "digest summary paper=%s lang=%s model=%s outcome=%s detail=%s", paper_id, language,
                provenance.model, provenance.kind, provenance.detail)
        return text, provenance


def judge(raw: str, language: str, model: str) -> tuple[str, Provenance]:
    """(summary, provenance) for a raw answer: cleaned, then refused when unusable or not in `language`."""
    text = clean_answer(raw)
    reason = unusable(text)
    if reason is not None:
        return "", Provenance("unusable", model, reason)
    found = answered_language(text, language)
    if found != language:
        return "", Provenance("wrong-language", model, found)
    return text, Provenance("model", model, language)


def summarizer_for(hub: Any, name: str, *, timeout_s: float, max_new_tokens: int) -> "Summarizer | Provenance":
    """The configured summary model, or the Provenance saying why there is none (not configured, unavailable)."""
    if not name:
        return Provenance("not-configured", detail=SETTING)
    if hub is None:
        return Provenance("unavailable", name, "no-models")
    try:
        engine = hub.text(name)
    except UnknownModel:
        return _unavailable(name, "unknown-model")
    except ModelError as error:
        return _unavailable(name, failure_reason(error))
    return Summarizer(engine, timeout_s=timeout_s, max_new_tokens=max_new_tokens)


def _unavailable(name: str, reason: str) -> Provenance:
    log.warning("digest summary model=%s unavailable: %s", name, reason)
    return Provenance("unavailable", name, reason)
