"""A fake OpenAI-compatible completions server (the shape vLLM, llama.cpp server and Ollama speak) on loopback.

`POST /v1/completions` answers deterministic text ("<prompt> → sample k"), `POST /v1/chat/completions` a canned
one-sentence paper summary in the language the request asks for ("… in Persian"), `POST /v1/embeddings` a hashed bag
of words (texts sharing words are similar). All can be scripted to misbehave: 429 with Retry-After, 5xx, slow
responses (hangs), malformed JSON, a summary in another language than asked, any text.

    python -m fakes.openai_api --port 8090
    # then: REMOTE_MODELS='{"remote": {"base_url": "http://127.0.0.1:8090/v1", "model": "x"}}'
"""
import argparse
import asyncio
import hashlib
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from fakes.server import LoopbackServer


@dataclass
class Scripted:
    status: int = 200
    delay_s: float = 0.0
    retry_after: str | None = None
    body: str | None = None  # raw body instead of JSON (malformed responses)
    language: str | None = None  # chat: answer in this language (en/ru/fa/he/ar) whatever the request asks
    text: str | None = None  # chat: answer exactly this text (empty, garbage, a loop)


EMBEDDING_DIM = 256
# Canned chat answers: one fluent sentence per language, so a client's language check has real text to judge.
SUMMARIES = {
    "en": "The paper proposes a simple method and shows on several benchmarks that it works better than earlier "
          "approaches.",
    "ru": "В статье предложен простой метод, и на нескольких тестах показано, что он работает лучше прежних "
          "подходов.",
    "fa": "این مقاله روشی ساده پیشنهاد می‌کند و در چند آزمون نشان می‌دهد که از روش‌های پیشین بهتر کار می‌کند.",
    "he": "המאמר מציע שיטה פשוטה ומראה בכמה מבחנים שהיא עובדת טוב יותר מגישות קודמות.",
    "ar": "تقترح هذه الورقة طريقة بسيطة وتبين في عدة اختبارات أنها تعمل أفضل من الطرق السابقة.",
}
LANGUAGE_CODES = {"english": "en", "russian": "ru", "persian": "fa", "farsi": "fa", "hebrew": "he", "arabic": "ar"}
_TARGET = re.compile(r"\b(?:in|into)\s+(English|Russian|Persian|Farsi|Hebrew|Arabic)\b", re.IGNORECASE)


def requested_language(messages: list[dict[str, Any]]) -> str:
    """The language a chat request asks its answer in: the first "in <Language>" of the system message, else of
    the whole conversation (English when none is named)."""
    ordered = sorted(messages, key=lambda m: m.get("role") != "system")
    for message in ordered:
        found = _TARGET.search(str(message.get("content", "")))
        if found:
            return LANGUAGE_CODES[found.group(1).casefold()]
    return "en"


def hashed_bag_of_words(text: str, dim: int = EMBEDDING_DIM) -> list[float]:
    """A deterministic embedding in which similarity still means something: word counts hashed into `dim` signed
    buckets (the hashing trick), plus one constant component so an input with no words is not a zero vector.
    Deliberately not normalised: clients must normalise themselves, as with servers that do not."""
    vector = [0.0] * dim
    vector[0] = 0.5
    for word in re.findall(r"\w+", text.casefold()):
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
        bucket = 1 + int.from_bytes(digest[:4], "little") % (dim - 1)
        vector[bucket] += 1.0 if digest[4] & 1 else -1.0
    return vector


class FakeOpenAI(LoopbackServer):
    def __init__(self, api_key: str | None = None):
        self.api_key = api_key
        self.script: deque[Scripted] = deque()
        self.always: Scripted | None = None  # the step every request gets once the script is used up
        self.requests: list[dict] = []
        self.app = web.Application()
        self.app.router.add_post("/v1/completions", self._completions)
        self.app.router.add_post("/v1/chat/completions", self._chat)
        self.app.router.add_post("/v1/embeddings", self._embeddings)

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def then(self, *steps: Scripted) -> None:
        self.script.extend(steps)

    async def _scripted(self, request: web.Request) -> dict[str, Any] | web.StreamResponse:
        """The request body, or the response a scripted step (or a bad key) gives instead of a normal answer."""
        found = await self._step(request)
        return found if isinstance(found, web.StreamResponse) else found[0]

    async def _step(self, request: web.Request) -> tuple[dict[str, Any], Scripted] | web.StreamResponse:
        """The request body and its scripted step, or the response that step (or a bad key) gives instead."""
        if self.api_key and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "invalid api key"}}, status=401)
        body: dict[str, Any] = await request.json()
        self.requests.append(body)
        step = self.script.popleft() if self.script else (self.always or Scripted())
        if step.delay_s:
            await asyncio.sleep(step.delay_s)
        headers = {"Retry-After": step.retry_after} if step.retry_after else {}
        if step.body is not None:
            return web.Response(text=step.body, status=step.status, headers=headers, content_type="application/json")
        if step.status != 200:
            return web.json_response({"error": {"message": f"scripted {step.status}"}}, status=step.status,
                                     headers=headers)
        return body, step

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        body = await self._scripted(request)
        if isinstance(body, web.StreamResponse):
            return body
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if not inputs or any(not isinstance(text, str) or not text for text in inputs):
            # OpenAI's API refuses empty strings; so does the fake, so clients are tested against that.
            return web.json_response({"error": {"message": "input must be non-empty strings"}}, status=400)
        data = [{"object": "embedding", "index": i, "embedding": hashed_bag_of_words(text)}
                for i, text in enumerate(inputs)]
        return web.json_response({"object": "list", "model": body.get("model"), "data": data,
                                  "usage": {"prompt_tokens": sum(len(t.split()) for t in inputs)}})

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await self._scripted(request)
        if isinstance(body, web.StreamResponse):
            return body
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        n = int(body.get("n", 1))
        choices = [{"index": p * n + k, "text": f" continuation of {prompt[-20:]!r} #{k}. More text",
                    "finish_reason": "length"}
                   for p, prompt in enumerate(prompts) for k in range(n)]
        return web.json_response({"id": "cmpl-1", "object": "text_completion", "model": body.get("model"),
                                  "choices": choices})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        found = await self._step(request)
        if isinstance(found, web.StreamResponse):
            return found
        body, step = found
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return web.json_response({"error": {"message": "messages must be a non-empty list"}}, status=400)
        if step.text is not None:
            answer = step.text
        else:
            answer = SUMMARIES[step.language or requested_language(messages)]
        return web.json_response({"id": "chatcmpl-1", "object": "chat.completion", "model": body.get("model"),
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": answer}}]})


async def _serve(port: int) -> None:
    server = await FakeOpenAI().start(port)
    print(f"fake OpenAI-compatible API on {server.base_url}", flush=True)
    await asyncio.Event().wait()


class GatedOpenAI(FakeOpenAI):
    """Holds every model request at `gate` until it is set: tests keep a model "running" for as long as they need
    (a crash while /leak waits on its model, /help answered while ten /leaks wait). `arrived` counts requests on
    arrival, before the gate."""

    def __init__(self, api_key: str | None = None):
        super().__init__(api_key=api_key)
        self.gate = asyncio.Event()
        self.arrived = 0

    async def _step(self, request: web.Request) -> tuple[dict[str, Any], Scripted] | web.StreamResponse:
        self.arrived += 1
        await self.gate.wait()
        return await super()._step(request)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8090)
    asyncio.run(_serve(parser.parse_args().port))
