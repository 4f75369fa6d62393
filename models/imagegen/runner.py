"""Running a suite: every prompt with the same seed, text items graded by OCR, the rest left to votes."""
import asyncio
import random
from dataclasses import dataclass

from models.imagegen import ocr
from models.imagegen.errors import ImageGenError
from models.imagegen.providers import GeneratedImage, Provider
from models.imagegen.suites import SuiteItem, suite_items


@dataclass
class ItemResult:
    item: SuiteItem
    status: str  # ok | error code (no-key, safety, provider, timeout, bad-image)
    image: GeneratedImage | None = None
    score: float | None = None
    ocr_text: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"prompt": self.item.prompt, "label": self.item.label, "status": self.status,
                "score": None if self.score is None else round(self.score, 3), "ocr_text": self.ocr_text,
                "seed": self.image.seed if self.image else None, "url": self.image.url if self.image else None,
                "error": self.error}


async def grade(item: SuiteItem, image: bytes) -> tuple[float | None, str | None]:
    if item.word is None or item.language is None or not ocr.available(item.language):
        return None, None
    text = await asyncio.to_thread(ocr.read_text, image, item.language, item.word)
    return ocr.char_accuracy(text, item.word), text


async def run_item(provider: Provider, item: SuiteItem, seed: int, model: str | None) -> ItemResult:
    try:
        image = await provider.generate(item.prompt, seed=seed, model=model)
    except ImageGenError as error:
        return ItemResult(item, error.code, error=str(error))
    score, text = await grade(item, image.data)
    return ItemResult(item, "ok", image, score, text)


async def run_suite(provider: Provider, suite: str, subject: str | None = None, *, seed: int | None = None,
                    model: str | None = None) -> tuple[int, list[ItemResult]]:
    seed = random.randrange(2**31) if seed is None else seed
    items = suite_items(suite, subject)
    results = await asyncio.gather(*(run_item(provider, item, seed, model) for item in items))
    return seed, list(results)


def mean_score(results: list[ItemResult]) -> float | None:
    scores = [r.score for r in results if r.score is not None]
    return round(sum(scores) / len(scores), 3) if scores else None
