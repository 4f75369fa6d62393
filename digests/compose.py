"""One digest issue for one subscription: the new papers of its window, ranked by its topics, summarized, rendered
as HTML in the subscriber's language. A paper's summary, in order of preference: its abstract when the paper is in
the reader's language; else a grouped source post written in the reader's language, quoted and attributed (no
translation model needed); else a configured model's one-sentence summary in the reader's language, checked
(digests/summary.py); else the abstract in its original language, marked with it."""
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from chatkit.render import escape, isolate
from digests.summary import SETTING, Provenance, Summarizer
from storage.repo.digest import paper_posts, sent_paper_ids
from storage.schema.digest import DigestItem, DigestSource, Paper, Subscription

log = logging.getLogger(__name__)
LANGUAGE_NAMES = {"en": "English", "ru": "Russian", "fa": "Persian", "he": "Hebrew"}
SUMMARY_CHARS = 320
SENTENCE_END = re.compile(r"(?<=[.!?؟。])\s+")


@dataclass
class Post:
    source_kind: str
    source_name: str
    language: str
    url: str | None
    text: str = ""


@dataclass
class Candidate:
    paper: Paper
    posts: list[Post] = field(default_factory=list)
    score: float = 0.0
    matched: list[str] = field(default_factory=list)
    summary: str = ""
    summary_language: str = "en"
    quoted: Post | None = None  # the source post the summary quotes (a post in the reader's language)
    reasons: list[dict] = field(default_factory=list)  # why it ranked where it did (digests/ranking.py)
    provenance: Provenance | None = None  # who wrote the summary, or why no model did (shown in previews)


def matches(topic: str, text: str) -> bool:
    """A topic matches as a whole word or phrase, case-insensitively, in any script ("llm" not inside "allmost")."""
    return re.search(rf"(?<!\w){re.escape(topic.casefold())}(?!\w)", text.casefold()) is not None


async def candidates(session: AsyncSession, subscription: Subscription, *, now: datetime,
                     lookback_days: int, since: datetime | None = None) -> list[Candidate]:
    """Papers with posts in the window that no earlier issue of this subscription carried (nothing twice; anything
    left out because the digest was full stays a candidate while it is in the window: nothing missed)."""
    since = since or now - timedelta(days=lookback_days)  # the issue's window (digests/calendar.py) when given
    sent = await sent_paper_ids(session, subscription.id)
    rows = await paper_posts(session, since, now)
    found: dict[int, Candidate] = {}
    for paper, item, src in rows:
        if paper.id in sent:
            continue
        entry = found.setdefault(paper.id, Candidate(paper))
        # A channel post is quoted by its own link (the paper's link is on the title already).
        entry.posts.append(Post(src.kind, src.name, item.language, _post_link(src, item) or item.url, item.text))
    return list(found.values())


def _post_link(src: DigestSource, item: DigestItem) -> str | None:
    if src.kind == "channel" and ":" in item.external_id:
        chat_id, message_id = item.external_id.split(":", 1)
        internal = chat_id.removeprefix("-100")
        return f"https://t.me/c/{internal}/{message_id}"
    return None


def rank(entries: list[Candidate], topics: list[str], size: int) -> list[Candidate]:
    """Title matches weigh most, then abstract and post matches (posts in any language: a Russian topic finds the
    paper through a Russian post); papers discussed in more sources and languages rank higher among equals.
    A subscription with topics only gets papers matching at least one."""
    for entry in entries:
        title = entry.paper.title
        body = " \n".join([entry.paper.abstract] + [post.text for post in entry.posts])
        entry.matched = [t for t in topics if matches(t, title) or matches(t, body)]
        entry.score = (3 * sum(matches(t, title) for t in topics) + sum(matches(t, body) for t in topics)
                       + 0.5 * len({p.source_name for p in entry.posts}) + 0.5 * len({p.language for p in entry.posts}))
    chosen = [e for e in entries if e.matched or not topics]
    chosen.sort(key=lambda e: (-e.score, -e.paper.id))
    return chosen[:size]


def extractive_summary(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first sentences that fit in `limit` characters (never fails, never empty when there is text)."""
    text = " ".join((text or "").split())
    out = ""
    for sentence in SENTENCE_END.split(text):
        if len(out) + len(sentence) + 1 > limit:
            break
        out = f"{out} {sentence}".strip()
    if not out and text:
        out = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return out


# Links and bare arXiv ids are dropped from a quoted post: the title already links the paper and the attribution
# links the post, so the quote keeps only what the post says.
_POST_NOISE = re.compile(r"(?:https?://|www\.|(?<![\w/])arxiv\.org/)\S+|\barXiv:\s*\d{4}\.\d{4,5}(?:v\d+)?",
                         re.IGNORECASE)
QUOTES = {"en": ("“", "”"), "ru": ("«", "»"), "fa": ("«", "»"), "he": ("„", "”")}


def post_quote(text: str, limit: int = SUMMARY_CHARS) -> str:
    """A post as a summary: links and arXiv ids removed, whitespace folded, the first sentences within `limit`."""
    cleaned = " ".join(_POST_NOISE.sub(" ", text or "").split())
    cleaned = re.sub(r"\s+([.,;:!?؟،])", r"\1", cleaned)
    cleaned = re.sub(r"(?:\s*[—–:-])+\s*$", "", cleaned).strip()  # a dash or colon left where a link ended
    return extractive_summary(cleaned, limit)


def reader_post(entry: Candidate, language: str) -> Post | None:
    """The grouped source post in the reader's language with the most to say (earliest among equals)."""
    own = [post for post in entry.posts if post.language == language and len(post_quote(post.text)) >= 20]
    return max(own, key=lambda post: len(post_quote(post.text)), default=None)


async def summarize(entry: Candidate, language: str, summarizer: "Summarizer | Provenance | None" = None) -> None:
    """The abstract when the paper is in the reader's language; else a post in the reader's language, quoted; else
    the configured model's one-sentence summary in the reader's language, when it passes the language check; else
    the extractive summary in the paper's own language (marked when rendered). `summarizer` is the configured model,
    or the Provenance saying why there is none (None: not configured); `entry.provenance` records the outcome."""
    source = entry.paper.abstract or entry.paper.title
    entry.summary, entry.summary_language, entry.quoted = extractive_summary(source), entry.paper.language, None
    if entry.paper.language == language:
        entry.provenance = Provenance("abstract", detail=language)
        return
    post = reader_post(entry, language)
    if post is not None:
        entry.summary, entry.summary_language, entry.quoted = post_quote(post.text), language, post
        entry.provenance = Provenance("post", detail=post.language)
        return
    if not isinstance(summarizer, Summarizer):
        entry.provenance = summarizer or Provenance("not-configured", detail=SETTING)
        return
    text, entry.provenance = await summarizer.summarize(entry.paper.id, entry.paper.title, source, language)
    if text:
        entry.summary, entry.summary_language = extractive_summary(text), language


def render_issue(entries: list[Candidate], language: str, l10n, *, date: str, topics: list[str],
                 provenance: bool = False) -> str:
    """HTML, every user/model/source text escaped and bidi-isolated. `l10n(key, **args)` is the subscriber's
    translator; it escapes its arguments (and isolates them in RTL languages). `provenance` (the /digest preview
    only, never a delivered issue) adds under each summary which model wrote it, or why none did."""
    lines = [l10n("digest-title", date=date, topics=", ".join(topics) or "—", count=len(entries)), ""]
    for number, entry in enumerate(entries, 1):
        title = isolate(escape(entry.paper.title))
        url = entry.paper.url or next((p.url for p in entry.posts if p.url), None)
        heading = f'<a href="{escape(url)}">{title}</a>' if url else title
        lines.append(f"<b>{number}.</b> <b>{heading}</b>")
        summary = isolate(escape(entry.summary))
        if entry.quoted is not None:
            opening, closing = QUOTES.get(language, QUOTES["en"])
            name = isolate(escape(entry.quoted.source_name))
            author = f'<a href="{escape(entry.quoted.url)}">{name}</a>' if entry.quoted.url else name
            summary = f"<i>{opening}{summary}{closing}</i> — {author}"
        elif entry.summary_language != language and entry.summary_language in LANGUAGE_NAMES:
            summary = l10n("digest-original-language", language=entry.summary_language) + " " + summary
        lines.append(summary)
        if provenance and entry.provenance is not None:
            lines.append(provenance_line(entry.provenance, l10n))
        sources = []
        for post in _unique_sources(entry.posts):
            name = isolate(escape(post.source_name))
            label = f'<a href="{escape(post.url)}">{name}</a>' if post.url else name
            sources.append(f"{label} ({post.language})" if post.language in LANGUAGE_NAMES else label)
        if sources:
            lines.append(l10n("digest-sources") + " " + " · ".join(sources))
        lines.append("")
    return "\n".join(lines).strip()


def provenance_line(origin: Provenance, l10n) -> str:
    """"ℹ️ summary by qwen-remote" / "ℹ️ no model summary: wrong language: answered in en", localized."""
    return f"<i>ℹ️ {l10n('digest-why-' + origin.kind, model=origin.model, detail=origin.detail)}</i>"


def render_empty(l10n, *, date: str, topics: list[str]) -> str:
    return l10n("digest-empty", date=date, topics=", ".join(topics) or "—")


def _unique_sources(posts: list[Post]) -> list[Post]:
    seen, out = set(), []
    for post in posts:
        if (post.source_name, post.language) not in seen:
            seen.add((post.source_name, post.language))
            out.append(post)
    return out[:6]
