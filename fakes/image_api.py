"""A fake Replicate + fal.ai server on loopback, rendering real PNGs with Pillow.

Paths: Replicate at `/replicate/v1` (REPLICATE_API_BASE), fal sync at `/fal` (FAL_API_BASE), fal queue at
`/fal-queue` (FAL_QUEUE_BASE). A DrawText prompt (`... the word "X" ...`) gets an image of a sign showing X, in any
of the four scripts, so OCR grading has something true to read. Misbehaviour is scripted per call with `then()`.

    python -m fakes.image_api --port 8095 --key test-key
"""
import argparse
import asyncio
import io
import itertools
from collections import deque
from pathlib import Path

from aiohttp import web
from PIL import Image, ImageDraw, ImageFont, features

from fakes.server import LoopbackServer
from models.imagegen.suites import drawn_word

FONT = next((path for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                               "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf") if Path(path).exists()), None)
RTL = {"he", "fa"}


def render(prompt: str, seed: int, size: int = 512) -> bytes:
    """A sign with the requested word (or the prompt, small, for other prompts) on a seed-coloured background."""
    shade = 200 + seed % 50
    image = Image.new("RGB", (size, size), (shade, shade, 255 - seed % 40))
    draw = ImageDraw.Draw(image)
    word = drawn_word(prompt)
    if word:
        draw.rectangle([40, 150, size - 40, size - 150], fill="white", outline="black", width=6)
        rtl = any("\u0590" <= ch <= "\u06ff" for ch in word)
        # libraqm shapes Persian letters and lays right-to-left text out in visual order.
        raqm = rtl and FONT is not None and features.check("raqm")
        direction = "rtl" if raqm else None
        if FONT is None:
            font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.load_default()
        elif raqm:
            font = ImageFont.truetype(FONT, 72, layout_engine=ImageFont.Layout.RAQM)
        else:
            font = ImageFont.truetype(FONT, 72)
        box = draw.textbbox((0, 0), word, font=font, direction=direction)
        x, y = (size - (box[2] - box[0])) // 2, (size - (box[3] - box[1])) // 2 - box[1]
        draw.text((x, y), word, fill="black", font=font, direction=direction)
    else:
        draw.ellipse([size // 4, size // 4, 3 * size // 4, 3 * size // 4], fill=(seed % 255, 120, 60))
        small = ImageFont.truetype(FONT, 18) if FONT else ImageFont.load_default()
        draw.text((10, size - 30), prompt[:60], fill="black", font=small)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class FakeImageAPI(LoopbackServer):
    def __init__(self, key: str = "test-key", *, steps: int = 2):
        self.key = key
        self.steps = steps  # polls before a prediction/queue item completes
        self.script: deque[str] = deque()  # "429", "500", "503", "badjson", "slow", "fail", "nsfw", "bigimage"
        self.calls: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self.jobs: dict[str, dict] = {}
        self.images: dict[str, bytes] = {}
        self.slow_s = 3.0
        app = web.Application()
        app.router.add_post("/replicate/v1/models/{owner}/{name}/predictions", self.replicate_create)
        app.router.add_get("/replicate/v1/predictions/{id}", self.replicate_get)
        app.router.add_get("/fal-queue/requests/{id}/status", self.fal_status)
        app.router.add_get("/fal-queue/requests/{id}", self.fal_result)
        app.router.add_post("/fal-queue/{model:.+}", self.fal_enqueue)
        app.router.add_post("/fal/{model:.+}", self.fal_sync)
        app.router.add_get("/images/{id}.png", self.image)
        self.app = app

    def then(self, *behaviours: str) -> None:
        self.script.extend(behaviours)

    @property
    def base(self) -> str:
        return self.origin

    def settings_env(self) -> dict[str, str]:
        return {"REPLICATE_API_BASE": f"{self.base}/replicate/v1", "FAL_API_BASE": f"{self.base}/fal",
                "FAL_QUEUE_BASE": f"{self.base}/fal-queue"}


    # ---------- helpers ----------
    async def _misbehave(self, request: web.Request) -> web.StreamResponse | None:
        self.calls.append((request.method, request.path))
        if not self.script:
            return None
        behaviour = self.script[0]
        if behaviour in ("fail", "nsfw", "bigimage"):
            return None  # these shape the job, not this response
        self.script.popleft()
        if behaviour == "429":
            return web.json_response({"detail": "rate limited"}, status=429, headers={"Retry-After": "1"})
        if behaviour in ("500", "503"):
            return web.json_response({"detail": "internal error" if behaviour == "500" else "service unavailable"},
                                     status=int(behaviour))
        if behaviour == "badjson":
            return web.Response(text="{not json", content_type="application/json")
        if behaviour == "slow":
            await asyncio.sleep(self.slow_s)
        return None

    def _authorised(self, request: web.Request, scheme: str) -> bool:
        return request.headers.get("Authorization") == f"{scheme} {self.key}"

    def _new_job(self, prompt: str, seed: int) -> dict:
        job_id = f"job{next(self._ids)}"
        outcome = "ok"
        if self.script and self.script[0] in ("fail", "nsfw", "bigimage"):
            outcome = self.script.popleft()
        job = {"id": job_id, "prompt": prompt, "seed": seed, "polls": 0, "outcome": outcome}
        self.jobs[job_id] = job
        if outcome == "bigimage":
            self.images[job_id] = b"\x89PNG" + b"0" * (20 * 2**20)
        else:
            self.images[job_id] = render(prompt, seed)
        return job

    def _url(self, job: dict) -> str:
        return f"{self.base}/images/{job['id']}.png"

    # ---------- Replicate ----------
    def _prediction(self, job: dict, status: str) -> dict:
        body = {"id": job["id"], "status": status, "input": {"prompt": job["prompt"], "seed": job["seed"]},
                "urls": {"get": f"{self.base}/replicate/v1/predictions/{job['id']}"}, "output": None, "error": None}
        if status == "succeeded":
            body["output"] = [self._url(job)]
        if status == "failed":
            body["error"] = "NSFW content detected. Try running it again, or try a different prompt." \
                if job["outcome"] == "nsfw" else "CUDA out of memory"
        return body

    async def replicate_create(self, request: web.Request) -> web.StreamResponse:
        if (bad := await self._misbehave(request)) is not None:
            return bad
        if not self._authorised(request, "Bearer"):
            return web.json_response({"detail": "Unauthenticated"}, status=401)
        body = await request.json()
        job = self._new_job(body["input"]["prompt"], int(body["input"].get("seed", 0)))
        job["go_fast"] = body["input"].get("go_fast")
        if "wait" in request.headers.get("Prefer", "") and self.steps == 0:
            return web.json_response(self._prediction(job, self._final(job)), status=201)
        return web.json_response(self._prediction(job, "starting"), status=201)

    def _final(self, job: dict) -> str:
        return "failed" if job["outcome"] in ("fail", "nsfw") else "succeeded"

    async def replicate_get(self, request: web.Request) -> web.StreamResponse:
        if (bad := await self._misbehave(request)) is not None:
            return bad
        if not self._authorised(request, "Bearer"):
            return web.json_response({"detail": "Unauthenticated"}, status=401)
        job = self.jobs[request.match_info["id"]]
        job["polls"] += 1
        status = "processing" if job["polls"] < self.steps else self._final(job)
        return web.json_response(self._prediction(job, status))

    # ---------- fal ----------
    def _fal_result(self, job: dict) -> dict:
        return {"images": [{"url": self._url(job), "width": 512, "height": 512, "content_type": "image/png"}],
                "seed": job["seed"], "has_nsfw_concepts": [job["outcome"] == "nsfw"], "prompt": job["prompt"]}

    async def fal_sync(self, request: web.Request) -> web.StreamResponse:
        if (bad := await self._misbehave(request)) is not None:
            return bad
        if not self._authorised(request, "Key"):
            return web.json_response({"detail": "Invalid Key"}, status=401)
        body = await request.json()
        job = self._new_job(body["prompt"], int(body.get("seed", 0)))
        if job["outcome"] == "fail":
            return web.json_response({"detail": "model crashed"}, status=422)
        return web.json_response(self._fal_result(job))

    async def fal_enqueue(self, request: web.Request) -> web.StreamResponse:
        if (bad := await self._misbehave(request)) is not None:
            return bad
        if not self._authorised(request, "Key"):
            return web.json_response({"detail": "Invalid Key"}, status=401)
        body = await request.json()
        job = self._new_job(body["prompt"], int(body.get("seed", 0)))
        base = f"{self.base}/fal-queue/requests/{job['id']}"
        return web.json_response({"request_id": job["id"], "status_url": f"{base}/status", "response_url": base})

    async def fal_status(self, request: web.Request) -> web.StreamResponse:
        if (bad := await self._misbehave(request)) is not None:
            return bad
        job = self.jobs[request.match_info["id"]]
        job["polls"] += 1
        if job["polls"] < self.steps:
            return web.json_response({"status": "IN_QUEUE" if job["polls"] == 1 else "IN_PROGRESS"}, status=202)
        body = {"status": "COMPLETED"}
        if job["outcome"] == "fail":
            body["error"] = "model crashed"
        return web.json_response(body)

    async def fal_result(self, request: web.Request) -> web.StreamResponse:
        if (bad := await self._misbehave(request)) is not None:
            return bad
        return web.json_response(self._fal_result(self.jobs[request.match_info["id"]]))

    async def image(self, request: web.Request) -> web.StreamResponse:
        data = self.images.get(request.match_info["id"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/png")


async def _serve(port: int, key: str) -> None:
    server = await FakeImageAPI(key).start(port)
    print("fake image API; set:", " ".join(f"{k}={v}" for k, v in server.settings_env().items()),
          f"REPLICATE_API_TOKEN={key} FAL_KEY={key}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8095)
    parser.add_argument("--key", default="test-key")
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.key))
