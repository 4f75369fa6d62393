"""A fake OpenAI-compatible completions server (the shape vLLM, llama.cpp server and Ollama speak) on loopback.

`POST /v1/completions` answers deterministic text ("<prompt> → sample k"), and can be scripted to misbehave:
429 with Retry-After, 5xx, slow responses, malformed JSON.

    python -m fakes.openai_api --port 8090     # REMOTE_MODELS='{"remote": {"base_url": "http://127.0.0.1:8090/v1", "model": "x"}}'
"""
import argparse
import asyncio
from collections import deque
from dataclasses import dataclass

from aiohttp import web

from fakes.server import LoopbackServer


@dataclass
class Scripted:
    status: int = 200
    delay_s: float = 0.0
    retry_after: str | None = None
    body: str | None = None  # raw body instead of JSON (malformed responses)


class FakeOpenAI(LoopbackServer):
    def __init__(self, api_key: str | None = None):
        self.api_key = api_key
        self.script: deque[Scripted] = deque()
        self.requests: list[dict] = []
        self.app = web.Application()
        self.app.router.add_post("/v1/completions", self._completions)

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def then(self, *steps: Scripted) -> None:
        self.script.extend(steps)


    async def _completions(self, request: web.Request) -> web.StreamResponse:
        if self.api_key and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "invalid api key"}}, status=401)
        body = await request.json()
        self.requests.append(body)
        step = self.script.popleft() if self.script else Scripted()
        if step.delay_s:
            await asyncio.sleep(step.delay_s)
        headers = {"Retry-After": step.retry_after} if step.retry_after else {}
        if step.body is not None:
            return web.Response(text=step.body, status=step.status, headers=headers, content_type="application/json")
        if step.status != 200:
            return web.json_response({"error": {"message": f"scripted {step.status}"}}, status=step.status,
                                     headers=headers)
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        n = int(body.get("n", 1))
        choices = [{"index": p * n + k, "text": f" continuation of {prompt[-20:]!r} #{k}. More text",
                    "finish_reason": "length"}
                   for p, prompt in enumerate(prompts) for k in range(n)]
        return web.json_response({"id": "cmpl-1", "object": "text_completion", "model": body.get("model"),
                                  "choices": choices})


async def _serve(port: int) -> None:
    server = await FakeOpenAI().start(port)
    print(f"fake OpenAI-compatible API on {server.base_url}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8090)
    asyncio.run(_serve(parser.parse_args().port))
