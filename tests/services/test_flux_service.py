"""services/flux.py against the loopback image API (fakes/image_api.py) and the real database: the daily cost
guard counts a whole suite before anything is paid for, failures are stored (never as successes) and raised,
votes and per-suite statistics, albums in chunks Telegram accepts."""
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from chatkit.errors import UserInputError
from fakes.image_api import FakeImageAPI
from models.imagegen.config import ImageGenSettings
from models.imagegen.providers import Providers
from models.imagegen.runner import ItemResult
from models.imagegen.suites import SuiteItem
from services.flux import ALBUM_SIZE, FluxService, ImageFailed, SuiteImage, SuiteOutcome, check_prompt, check_suite
from storage.schema.flux import FluxGeneration

KEY = "test-key"


@dataclass
class Chat:
    id: int
    type: str


PRIVATE, GROUP = Chat(1, "private"), Chat(-100, "supergroup")


@pytest.fixture
async def fake() -> AsyncIterator[FakeImageAPI]:
    server = await FakeImageAPI(KEY, steps=0).start()
    yield server
    await server.stop()


def providers(fake: FakeImageAPI, **overrides: object) -> Providers:
    values: dict[str, object] = dict(
        replicate_api_token=SecretStr(KEY), imagegen_poll_interval_s=0.02,
        replicate_api_base=f"{fake.base}/replicate/v1", fal_api_base=f"{fake.base}/fal",
        fal_queue_base=f"{fake.base}/fal-queue", imagegen_read_timeout_s=2.0, imagegen_retries=1)
    values.update(overrides)
    return Providers(ImageGenSettings(_env_file=None, **values))


def test_prompt_and_suite_arguments() -> None:
    assert check_prompt("a cat") == "a cat"
    for prompt, key in (("", "flux-usage"), ("x" * 501, "text-too-long")):
        with pytest.raises(UserInputError) as error:
            check_prompt(prompt)
        assert error.value.key == key
    assert check_suite("hands  a violinist ") == ("hands", "a violinist")
    assert check_suite("text") == ("text", None)
    with pytest.raises(UserInputError) as error:
        check_suite("nope")
    assert error.value.key == "flux-test-usage" and "upside-down" in str(error.value.params["suites"])


async def test_image_is_stored_voted_and_counted(sessionmaker, people, fake) -> None:
    imagegen = providers(fake)
    async with sessionmaker() as session:  # autobegin; committed below, as the update middleware does
        flux = FluxService(session, imagegen)
        made = await flux.generate("a cat on a chair", user_id=1, chat=GROUP)
        assert made.image.data.startswith(b"\x89PNG")
        await flux.remember_sent([(made.generation_id, "file-1")])
        assert (await flux.vote(made.generation_id, 1, 1)) .up == 1
        votes = await flux.vote(made.generation_id, 1, -1)  # one vote per user: changed, not added
        assert (votes.up, votes.down, votes.in_suite) == (0, 1, False)
        with pytest.raises(UserInputError):
            await flux.vote(made.generation_id + 99, 1, 1)  # a button of an image that is gone
        with pytest.raises(UserInputError):
            await flux.vote(made.generation_id, None, 1)  # a channel post has no user to vote
        assert await flux.generation_prompt(made.generation_id) == "a cat on a chair"
        [stats] = await flux.stats()
        assert (stats.suite, stats.images, stats.upvote_share) == ("flux", 1, 0.0)
        await session.commit()
    async with sessionmaker() as session:
        row = await session.get(FluxGeneration, made.generation_id)
        assert row is not None and (row.status, row.file_id, row.chat_id) == ("ok", "file-1", -100)


async def test_a_provider_failure_is_stored_and_raised(sessionmaker, people, fake) -> None:
    fake.then("nsfw")
    async with sessionmaker() as session:  # autobegin; committed below, as the update middleware does
        with pytest.raises(ImageFailed) as failure:
            await FluxService(session, providers(fake)).generate("something", user_id=1, chat=PRIVATE)
        await session.commit()
    assert failure.value.code == "safety"
    async with sessionmaker() as session:
        assert (await session.scalars(select(FluxGeneration.status))).all() == ["safety"]


async def test_the_daily_limit_counts_a_whole_suite_before_it_runs(sessionmaker, people, fake) -> None:
    imagegen = providers(fake, flux_daily_limit_user=2, flux_daily_limit_chat=3)
    async with sessionmaker() as session:  # autobegin; committed below, as the update middleware does
        flux = FluxService(session, imagegen)
        with pytest.raises(UserInputError) as user_limit:
            await flux.run_test("hands", None, user_id=1, chat=PRIVATE)  # three images, two left
        assert (user_limit.value.key, user_limit.value.params) == ("flux-err-daily-user", {"limit": "2"})
        assert fake.calls == []  # nothing generated, nothing paid for
        outcome = await flux.run_test("upside-down", "a red bus", user_id=None, chat=GROUP)
        assert (len(outcome.images), outcome.total, outcome.failures) == (2, 2, [])
        with pytest.raises(UserInputError) as chat_limit:
            await flux.run_test("upside-down", "a red bus", user_id=None, chat=GROUP)  # 2 + 2 > 3 for the chat
        assert chat_limit.value.key == "flux-err-daily-chat"
        await flux.generate("one more", user_id=None, chat=GROUP)  # 2 + 1 fits
        with pytest.raises(UserInputError):
            await flux.generate("and another", user_id=None, chat=GROUP)
        await session.commit()


async def test_without_a_key_nothing_runs(sessionmaker, people) -> None:
    imagegen = Providers(ImageGenSettings(_env_file=None, replicate_api_token=None, fal_key=None))
    async with sessionmaker() as session:
        with pytest.raises(UserInputError) as error:
            FluxService(session, imagegen).require_key()
    assert error.value.key == "flux-err-no-key"


def test_albums_hold_at_most_ten_photos() -> None:
    items = [SuiteImage(index, ItemResult(SuiteItem(f"prompt {index}", f"label {index}"), "ok")) for index in range(23)]
    outcome = SuiteOutcome("text", "replicate", 7, items, [], 23, None)
    albums = outcome.albums()
    assert [len(album) for album in albums] == [ALBUM_SIZE, ALBUM_SIZE, 3]
    assert [item.generation_id for album in albums for item in album] == list(range(23))
