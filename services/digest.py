"""The digest feature in a chat: previews of a subscription's next issue, papers sent with /submit, posts of
channels the bot is in, and the sources' health list. Building and delivering issues on schedule is the digest
pipeline's (digests.service.DigestService); this service asks it for previews."""
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.errors import UserInputError
from chatkit.parsing import parse_id
from digests.identity import arxiv_ids, lookalike_arxiv_id, paper_key
from digests.sources import ingest_post
from storage.db import released
from storage.repo.digest import all_sources, chat_subscriptions
from storage.repo.groups import top_voted_papers, vote_on_paper
from storage.schema.digest import DigestSource

MAX_SUBMIT_CHARS = 4000
CHATTER_CHARS = 200  # a channel post shorter than this, with no link or arXiv id, is chatter


class Previewer(Protocol):
    """digests.service.DigestService: what the subscription's next issue would say."""

    async def preview(self, subscription_id: int, now: datetime | None = None) -> str: ...


@dataclass(frozen=True)
class Preview:
    subscription_id: int
    text: str  # empty when the issue would be silent (no new papers, empty=silent)


@dataclass(frozen=True)
class Submitted:
    new: bool  # False: the same text was submitted before
    paper: str | None  # the paper key found in it (arxiv:…, doi:…), None for a text without an id


class DigestChatService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def preview(self, chat_id: int, argument: str, digests: Previewer) -> Preview:
        """The chat's subscription numbered `argument` (else its first) and its next issue, not stored."""
        found = await chat_subscriptions(self.session, chat_id)
        wanted = argument.strip().lstrip("#")
        number = parse_id(wanted) if wanted else None  # ASCII digits within BIGINT, else a localized reason
        chosen = next((s for s in found if s.id == number), None) if number is not None else None
        chosen = chosen or (found[0] if found else None)
        if chosen is None:
            raise UserInputError("subscriptions-none", "no subscription", then="subscribe-usage")
        async with released(self.session):  # the preview reads in its own session and may run a summary model
            text = await digests.preview(chosen.id)
        return Preview(chosen.id, text)

    async def sources(self) -> list[DigestSource]:
        return await all_sources(self.session)

    async def top_voted(self, limit: int = 5) -> list[tuple[str, int, int]]:
        """(title, up, down) of the papers readers voted on most under delivered digests, for /sources."""
        return await top_voted_papers(self.session, limit)

    async def vote(self, *, issue_id: int, position: int, user_id: int, chat_id: int | None,
                   value: int) -> tuple[int, int] | None:
        """A reader's 👍/👎 (or a changed one) on the paper at `position` (1-based) of an issue; (up, down) for that
        paper in the issue, or None when the issue or the position is gone (its subscription was removed)."""
        return await vote_on_paper(self.session, issue_id=issue_id, position=position, user_id=user_id,
                                   chat_id=chat_id, value=value)

    async def submit(self, text: str, *, chat_id: int, message_id: int) -> Submitted:
        """A paper sent by a user (an arXiv link, or a title and text) becomes a digest item of the `submit`
        source. `chat_id` is the sender's id (their submissions are one stream), else the chat's."""
        if not text:
            raise UserInputError("submit-usage", "empty")
        if len(text) > MAX_SUBMIT_CHARS:
            raise UserInputError("submit-too-long", "too long", limit=MAX_SUBMIT_CHARS)
        lookalike = lookalike_arxiv_id(text)
        if lookalike is not None and not arxiv_ids(text):  # not stored under a bogus key or as plain text
            raise UserInputError("submit-bad-digits", "non-ASCII digits in an arXiv id", value=lookalike)
        new = await ingest_post(self.session, chat_id=chat_id, message_id=message_id, text=text, title="/submit",
                                kind="submit")
        return Submitted(bool(new), paper_key(text))

    async def channel_post(self, *, chat_id: int, message_id: int, text: str, title: str,
                           published_at: datetime) -> bool:
        """A post of a channel the bot is in becomes a digest item when it looks like a paper post (an arXiv id, a
        link, or a long text); commands and chatter are skipped. True when it was stored as new."""
        if text.startswith("/"):
            return False
        if not arxiv_ids(text) and "http" not in text and len(text) < CHATTER_CHARS:
            return False
        return bool(await ingest_post(self.session, chat_id=chat_id, message_id=message_id, text=text, title=title,
                                      published_at=published_at, kind="channel"))
