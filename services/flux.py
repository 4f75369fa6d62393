"""FLUX image tests: the daily cost guard, one image (/flux, reroll), a prompt-test suite (/fluxtest), votes and
per-suite statistics. Every provider answer is stored, failures too (never counted as successes); a failure the
user should hear about is raised (`ImageFailed`, an `ImageGenError`) after it is stored."""
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.errors import UserInputError
from models.imagegen.errors import ImageGenError
from models.imagegen.providers import GeneratedImage, Providers
from models.imagegen.runner import ItemResult, mean_score, run_item, run_suite
from models.imagegen.suites import SUITES, SuiteItem, suite_items
from storage.db import released
from storage.repo.flux import add_generation, get_generation, images_today, set_file_ids, suite_stats, vote

MAX_PROMPT = 500
ALBUM_SIZE = 10  # Telegram's limit of photos in one media group


class ChatRef(Protocol):
    """The chat a request comes from (an aiogram Chat fits): its id and type decide the per-chat limit."""

    @property
    def id(self) -> int: ...

    @property
    def type(self) -> str: ...


class ImageFailed(ImageGenError):
    """The provider answered without an image (`code`: safety, provider, timeout, bad-image, no-key); the failure is
    stored before this is raised."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class FluxImage:
    generation_id: int
    image: GeneratedImage


@dataclass(frozen=True)
class SuiteImage:
    generation_id: int
    result: ItemResult

    @property
    def image(self) -> GeneratedImage:
        assert self.result.image is not None
        return self.result.image


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    provider: str
    seed: int
    images: list[SuiteImage]  # the items that produced an image, in suite order
    failures: list[ItemResult]
    total: int
    mean_score: float | None

    def albums(self) -> list[list[SuiteImage]]:
        """The images in chunks Telegram accepts as one media group."""
        return [self.images[start:start + ALBUM_SIZE] for start in range(0, len(self.images), ALBUM_SIZE)]


@dataclass(frozen=True)
class Votes:
    up: int
    down: int
    in_suite: bool  # suite images are sent as albums, without buttons to update


@dataclass(frozen=True)
class SuiteStats:
    suite: str
    model: str
    mean_score: float | None
    upvote_share: float | None
    images: int


def check_prompt(prompt: str) -> str:
    if not prompt:
        raise UserInputError("flux-usage", "empty")
    if len(prompt) > MAX_PROMPT:
        raise UserInputError("text-too-long", "too long", limit=MAX_PROMPT)
    return prompt


def check_suite(arguments: str) -> tuple[str, str | None]:
    """(suite, subject) of `/fluxtest suite [subject]`."""
    suite, _, subject = arguments.strip().partition(" ")
    if suite not in SUITES:
        raise UserInputError("flux-test-usage", "suite", suites=", ".join(sorted(SUITES)))
    if len(subject) > MAX_PROMPT:
        raise UserInputError("text-too-long", "too long", limit=MAX_PROMPT)
    return suite, subject.strip() or None


class FluxService:
    def __init__(self, session: AsyncSession, imagegen: Providers, rng: random.Random | None = None) -> None:
        self.session, self.imagegen = session, imagegen
        self.rng = rng or random.Random()

    def require_key(self) -> None:
        if not self.imagegen.configured():
            raise UserInputError("flux-err-no-key", "no key")

    async def check_limit(self, user_id: int | None, chat: ChatRef, needed: int = 1) -> None:
        """The daily cost guard: `needed` more images must fit in what is left of the user's and the chat's day."""
        settings = self.imagegen.settings
        if user_id is not None and \
                await images_today(self.session, user_id=user_id) + needed > settings.flux_daily_limit_user:
            raise UserInputError("flux-err-daily-user", "daily limit", limit=str(settings.flux_daily_limit_user))
        if chat.type != "private" and \
                await images_today(self.session, chat_id=chat.id) + needed > settings.flux_daily_limit_chat:
            raise UserInputError("flux-err-daily-chat", "daily limit", limit=str(settings.flux_daily_limit_chat))

    async def generation_prompt(self, generation_id: int) -> str:
        """The prompt of a stored image (reroll and test buttons)."""
        generation = await get_generation(self.session, generation_id)
        if generation is None:
            raise UserInputError("stale-button", "stale")
        return generation.prompt

    async def generate(self, prompt: str, *, user_id: int | None, chat: ChatRef) -> FluxImage:
        await self.check_limit(user_id, chat)
        seed = self.rng.randrange(2**31)
        provider = self.imagegen.get()  # NoKey and other ImageGenErrors propagate: nothing to store
        # Seconds to minutes at the provider: no connection held meanwhile. The limit was read, not reserved (it
        # never was: two requests at once could both pass it), so releasing between the check and the insert
        # changes nothing there.
        async with released(self.session):
            result = await run_item(provider, SuiteItem(prompt, "flux"), seed, None)
        if result.status != "ok" or result.image is None:
            # The provider answered: keep the failure, never as a success.
            await add_generation(self.session, user_id=user_id, chat_id=chat.id, prompt=prompt, provider=provider.name,
                                 model=provider.model_id(self.imagegen.settings.imagegen_model), seed=seed,
                                 status=result.status, error=(result.error or "")[:500])
            raise ImageFailed(result.status, result.error or "")
        image = result.image
        generation = await add_generation(self.session, user_id=user_id, chat_id=chat.id, prompt=prompt,
                                          provider=image.provider, model=image.model, seed=image.seed, status="ok",
                                          url=image.url)
        return FluxImage(generation.id, image)

    async def run_test(self, suite: str, subject: str | None, *, user_id: int | None, chat: ChatRef) -> SuiteOutcome:
        await self.check_limit(user_id, chat, len(suite_items(suite, subject)))  # a whole suite must fit
        provider = self.imagegen.get()
        async with released(self.session):  # a whole suite of images and their OCR
            seed, results = await run_suite(provider, suite, subject)
        images, failures = [], []
        for result in results:
            stored = await add_generation(
                self.session, user_id=user_id, chat_id=chat.id, suite=suite, label=result.item.label[:128],
                prompt=result.item.prompt, provider=provider.name,
                model=result.image.model if result.image else provider.model_id(self.imagegen.settings.imagegen_model),
                seed=seed, status=result.status, url=result.image.url if result.image else None,
                ocr_text=result.ocr_text, score=result.score, error=(result.error or "")[:500] or None)
            if result.status == "ok" and result.image is not None:
                images.append(SuiteImage(stored.id, result))
            else:
                failures.append(result)
        return SuiteOutcome(suite, provider.name, seed, images, failures, len(results), mean_score(results))

    async def remember_sent(self, sent: Sequence[tuple[int, str | None]]) -> None:
        """Telegram's file ids of the images sent, by generation id."""
        await set_file_ids(self.session, sent)

    async def vote(self, generation_id: int, user_id: int | None, value: int) -> Votes:
        generation = await get_generation(self.session, generation_id)
        if generation is None or user_id is None or value not in (1, -1):
            raise UserInputError("stale-button", "stale")
        up, down = await vote(self.session, generation.id, user_id, value)
        return Votes(up, down, generation.suite is not None)

    async def stats(self) -> list[SuiteStats]:
        return [SuiteStats(*row) for row in await suite_stats(self.session)]
