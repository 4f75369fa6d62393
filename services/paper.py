"""The paper card: one paper (digests/paper_lookup.py finds it), a summary in the reader's language by the digest's
own rules (digests/compose.summarize: abstract, a post in that language, the summary model, else the marked
abstract), the stored posts about it grouped by language, and the bot's demo for it where there is one. The card's
👍 and "add to reading list" go to the chat's profile (services/profile.py)."""
import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.errors import UserInputError
from digests.compose import Candidate, Post, _post_link, summarize
from digests.paper_lookup import Lookup, PaperQuery, Unreachable, find_paper, parse_query
from digests.summary import Provenance, Summarizer
from storage.db import released
from storage.repo.cards import (
    chat_setting,
    issue_position,
    latest_leak_result,
    posts_of_paper,
    set_chat_setting,
)
from storage.repo.digest import paper_by_key
from storage.repo.groups import vote_on_paper
from storage.schema.digest import Paper
from storage.schema.leak import LeakResult

log = logging.getLogger(__name__)
# Papers the bot can demo: arXiv id → (command, its argument). Gonen et al. 2024 is semantic leakage (/leak's
# yellow/school-bus probe); Liu et al. 2023 (character-aware text rendering) is what /spell shows.
DEMOS: dict[str, tuple[str, str]] = {
    "2408.06518": ("leak", "yellow | He works as a"),
    "2212.10562": ("spell", "strawberry"),
}
LINK_CARDS = "paper_link_cards"  # the key in chats.settings
RETRY_DELAYS_S = (30.0, 120.0, 600.0)  # a background lookup after arXiv failed: bounded, growing waits


@dataclass(frozen=True)
class PaperCard:
    paper_id: int
    arxiv_id: str | None
    title: str
    authors: str  # comma-separated; "" when unknown
    url: str | None
    summary: str
    summary_language: str  # the reader's language, or the paper's own when no summary in it could be had
    quoted: Post | None  # the post the summary quotes
    provenance: Provenance | None
    posts: dict[str, list[Post]] = field(default_factory=dict)  # language → posts, in the order they appeared
    demo: tuple[str, str] | None = None  # (command, argument)


SummarizerFactory = Callable[[], "Summarizer | Provenance | None"]


class PaperService:
    def __init__(self, session: AsyncSession, lookup: Lookup | None,
                 summarizer: SummarizerFactory | None = None) -> None:
        self.session, self.lookup, self.summarizer = session, lookup, summarizer

    @staticmethod
    def query(text: str | None) -> PaperQuery:
        found = parse_query(text)
        if found is None:
            raise UserInputError("paper-usage", "empty")
        return found

    async def card(self, query: PaperQuery, language: str, *, remote: bool = True) -> PaperCard:
        """The card; `UserInputError("paper-not-found")` for a paper no one knows, `Unreachable` when arXiv failed.
        `remote=False` (inline mode, which must answer fast) looks in the local store only."""
        paper = await find_paper(self.session, query, self.lookup if remote else None)
        if paper is None:
            raise UserInputError("paper-not-found", "unknown paper", query=query.text)
        return await self.render_card(paper, language)

    async def vote(self, chat_id: int, user_id: int, arxiv_id: str, value: int) -> tuple[int, int] | None:
        """A reader's 👍/👎 from a card, recorded as the digest vote on the chat's latest issue that carried the paper
        (so it moves the chat's profile like the digest's own buttons); None when no issue of this chat had it."""
        paper = await paper_by_key(self.session, f"arxiv:{arxiv_id}")
        where = await issue_position(self.session, chat_id, paper.id) if paper is not None else None
        if where is None:
            return None
        return await vote_on_paper(self.session, issue_id=where[0], position=where[1], user_id=user_id,
                                   chat_id=chat_id, value=value)

    async def link_cards(self, chat_id: int) -> bool:
        """Whether a bare arXiv link posted in this group gets a card (off until the chat's admins turn it on)."""
        return bool(await chat_setting(self.session, chat_id, LINK_CARDS))

    async def set_link_cards(self, chat_id: int, switch: str) -> bool:
        on = {"on": True, "off": False}.get(switch.strip().lower())
        if on is None:
            raise UserInputError("paper-cards-usage", "not on/off")
        await set_chat_setting(self.session, chat_id, LINK_CARDS, on)
        return on

    async def render_card(self, paper: Paper, language: str) -> PaperCard:
        entry = Candidate(paper)
        for item, src in await posts_of_paper(self.session, paper.id):
            entry.posts.append(Post(src.kind, src.name, item.language, _post_link(src, item) or item.url, item.text))
        async with released(self.session):  # the summary model may work for seconds: no connection held meanwhile
            await summarize(entry, language, self.summarizer() if self.summarizer else None)
        grouped: dict[str, list[Post]] = {}
        for post in entry.posts:
            grouped.setdefault(post.language, []).append(post)
        arxiv_id = paper.key.removeprefix("arxiv:") if paper.key.startswith("arxiv:") else None
        return PaperCard(paper.id, arxiv_id, paper.title, paper.authors or "", paper.url, entry.summary,
                         entry.summary_language, entry.quoted, entry.provenance, grouped, DEMOS.get(arxiv_id or ""))


async def retry_lookup(query: PaperQuery, attempt: Callable[[], Awaitable[bool]],
                       delays: tuple[float, ...] | None = None) -> bool:
    """Calls `attempt` after each delay until it returns True (found, or known to be unknown); False when every
    attempt found arXiv unreachable. `attempt` opens its own session (this outlives the update)."""
    for number, delay in enumerate(delays if delays is not None else RETRY_DELAYS_S, 1):
        await asyncio.sleep(delay)
        try:
            if await attempt():
                return True
        except Unreachable as error:
            log.info("paper lookup retry %d for %s: arXiv unreachable (%s)", number, query.arxiv_id or "words",
                     error)
    return False


async def cached_leak(session: AsyncSession, concept: str, test: str) -> LeakResult | None:
    """The latest stored /leak result for this concept and test prompt (inline mode offers it instead of a run)."""
    return await latest_leak_result(session, concept, test)
