"""A chat's interest profile, for the digest commands: `/like <arXiv id or URL>`, a reading list sent as a file
(BibTeX or a plain list of ids), what the profile holds, and why the latest issue ranked each paper where it did
(for /sources). Votes on digest papers join the profile by themselves (digest_votes). A paper arXiv does not know
yet, or that cannot be fetched now, is kept as pending and resolved by `resolve_pending` later."""
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.errors import UserInputError
from digests.pending import PaperLookup, known_papers, resolve_pending
from digests.profile import profile_papers
from digests.ranking import describe
from digests.readinglist import ReadingListError, parse_paper_ref, parse_reading_list
from storage.repo.profile import (
    RankedPaper,
    add_to_reading_list,
    chat_rankings,
    papers_by_key,
    reading_list,
)
from storage.schema.base import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Liked:
    arxiv_id: str
    title: str | None  # None while pending
    new: bool  # False: the chat had listed it already
    pending: bool  # arXiv could not tell us about it yet


@dataclass(frozen=True)
class Imported:
    added: list[str]
    already: list[str]
    pending: list[str]  # added, but their metadata is not known yet
    skipped: int  # entries/lines without an arXiv id
    truncated: bool  # more ids than the limit: the first were taken


@dataclass(frozen=True)
class ProfilePaper:
    title: str
    weight: float  # decayed: > 0 liked, < 0 disliked
    origin: str  # vote | like | import


@dataclass(frozen=True)
class ProfileSummary:
    likes: int
    dislikes: int
    listed: int  # reading-list papers (liked by /like or an import)
    pending: int
    half_life_days: float
    strongest: list[ProfilePaper] = field(default_factory=list)  # by |weight|, at most 5

    @property
    def empty(self) -> bool:
        return not (self.likes or self.dislikes)


@dataclass(frozen=True)
class Explained:
    """One paper of a recent issue with the reasons it ranked there ("topic: dpo", "like ≈ 0.86 to 'X'")."""
    paper: RankedPaper
    reasons: list[str]


class ProfileService:
    def __init__(self, session: AsyncSession, lookup: PaperLookup | None = None, *,
                 half_life_days: float = 30.0) -> None:
        self.session, self.lookup, self.half_life_days = session, lookup, half_life_days

    async def like(self, chat_id: int, paper_ref: str | None) -> Liked:
        arxiv_id = parse_paper_ref(paper_ref)
        if arxiv_id is None:
            raise UserInputError("like-err-bad-ref", "no single arXiv id", then="like-usage")
        known = await self._known([arxiv_id])
        paper = known.get(arxiv_id)
        added = await add_to_reading_list(self.session, chat_id, [(arxiv_id, paper)], "like")
        title = await self._title(arxiv_id) if paper is not None else None
        return Liked(arxiv_id, title, bool(added), paper is None)

    async def import_reading_list(self, chat_id: int, data: bytes, filename: str) -> Imported:
        try:
            parsed = parse_reading_list(data, filename)
        except ReadingListError as error:
            raise UserInputError(f"reading-list-err-{error.code}", error.code, then="reading-list-usage") from error
        known = await self._known(parsed.ids)
        added = await add_to_reading_list(self.session, chat_id, [(i, known.get(i)) for i in parsed.ids], "import")
        already = [i for i in parsed.ids if i not in added]
        return Imported(added, already, [i for i in added if known.get(i) is None], parsed.skipped, parsed.truncated)

    async def resolve_pending(self, chat_id: int | None = None) -> int:
        """Looks listed-but-unknown papers up again (after arXiv was unreachable); returns how many got resolved.
        The digest scheduler runs the same (digests/pending.py) for every chat, with a growing wait."""
        return (await resolve_pending(self.session, self.lookup, chat_id)).resolved

    async def profile_summary(self, chat_id: int, now: datetime | None = None) -> ProfileSummary:
        now = now or utcnow()
        weighted = await profile_papers(self.session, chat_id, now=now, half_life_days=self.half_life_days)
        entries = await reading_list(self.session, chat_id)
        strongest = sorted(weighted, key=lambda w: -abs(w.weight))[:5]
        return ProfileSummary(
            likes=sum(w.weight > 0 for w in weighted), dislikes=sum(w.weight < 0 for w in weighted),
            listed=len(entries), pending=sum(e.paper_id is None for e in entries),
            half_life_days=self.half_life_days,
            strongest=[ProfilePaper(w.paper.title, round(w.weight, 3), w.origin) for w in strongest])

    async def explain(self, chat_id: int, issues: int = 1) -> list[Explained]:
        """The chat's latest issues' papers, in order, each with what moved it up (for /sources)."""
        return [Explained(ranked, [describe(r) for r in ranked.reasons])
                for ranked in await chat_rankings(self.session, chat_id, issues=issues)]

    # ---------- papers ----------
    async def _known(self, arxiv_ids: list[str]) -> dict[str, int | None]:
        return await known_papers(self.session, self.lookup, arxiv_ids)

    async def _title(self, arxiv_id: str) -> str | None:
        paper = (await papers_by_key(self.session, [f"arxiv:{arxiv_id}"])).get(f"arxiv:{arxiv_id}")
        return paper.title if paper is not None else None
