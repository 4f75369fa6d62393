"""/export and /forget over every table: what the bot stores about a user, as one JSON document, and its removal.

Every table of the ORM metadata has a rule in TABLE_RULES (a test fails when a table has none), and a test walks
every column of every table, and the scheduler's job store, after /forget, looking for the user's id, username and
the texts they typed. Rows that are the user's own are deleted; rows that belong to a group (a group's subscription
the user created, a submitted paper other chats received in a digest) stay, without the user's id and text."""
import asyncio
import html
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.db import truncate_wal
from storage.repo import privacy as repo
from storage.schema.base import Base
from storage.schema.core import User

log = logging.getLogger(__name__)
EXPORT_FORMAT = 2
REMOVED = "[removed]"

# table → what /export includes and what /forget does. Tables of other features are named here too: a table added
# without a line here fails tests/groups/test_privacy.py.
TABLE_RULES: dict[str, str] = {
    "users": "exported; deleted",
    "chats": "the user's private chat: exported (its settings), deleted; group rows belong to the group",
    "history": "exported; deleted in every chat",
    "leak_results": "exported; deleted",
    "flux_generations": "exported; deleted (with the votes on them)",
    "flux_votes": "exported; deleted",
    "digest_votes": "exported; deleted",
    "digest_subscriptions": "exported when created by the user or in their private chat; private ones deleted with "
                            "their issues and deliveries, a group's kept without its creator",
    "digest_items": "the user's /submit items: exported; deleted, or (when a digest already carried the paper to "
                    "other chats) kept without the user's id and text",
    "digest_papers": "a paper whose title/abstract came from the user's submission keeps only its key",
    "digest_issues": "issues of the user's private subscriptions deleted; text the user submitted is cut out of "
                     "issues other chats received",
    "digest_deliveries": "deliveries to the user's private chat deleted",
    "digest_sources": "arXiv sources whose query names a topic only the user's private subscriptions had: renamed "
                      "and deactivated (feeds, channels and the shared /submit source hold no personal data)",
    "digest_reading_list": "a chat's reading list (arXiv ids, no user id): the user's private chat's deleted with "
                           "the chat; a group's belongs to the group",
    "digest_paper_embeddings": "vectors of papers' title + abstract (no user id); deleted with their paper",
    "digest_rankings": "why each paper of an issue ranked where it did (topics, liked paper titles); deleted with "
                       "the issue",
    "inbox_updates": "updates sent by the user (raw Telegram JSON): deleted once processed; those still pending or "
                     "in flight (the /forget confirmation itself) keep only their update_id",
    "inbox_cursors": "no personal data (polling offsets)",
    "inbox_calls": "the bot's answers to the user's updates and to their private chat: deleted, in the main database "
                   "and in SQLite's separate journal file; the /forget update's own entries are erased by its handler "
                   "after its last call (CallJournal.erase_user)",
    "jobs": "the user's long-running jobs: exported; deleted",
}


class JournalEraser(Protocol):
    """The Bot API call journal (bot/transports/calls.py CallJournal), which may live in a file of its own."""

    async def erase_user(self, user_id: int, update_ids: list[int], current: int) -> int: ...

    async def truncate_wal(self) -> bool: ...


_scrubbing: set[asyncio.Task[None]] = set()


def scrub_files_after_commit(session: AsyncSession, journal: JournalEraser | None) -> None:
    """After the /forget transaction commits: SQLite's WAL still holds page images of the rows it deleted (and of
    the confirmation's raw update before its redaction) until a checkpoint, so checkpoint and truncate the database's
    and the journal's WAL (storage/db.py truncate_wal; secure_delete zeroes the freed space). No-op on PostgreSQL."""
    engine = session.bind

    async def scrub() -> None:
        try:
            done = [await truncate_wal(engine)]  # type: ignore[arg-type]
            if journal is not None:
                done.append(await journal.truncate_wal())
            if not all(done):
                log.info("/forget: a WAL checkpoint was busy; the next one removes the old pages")
        except Exception as error:  # noqa: BLE001 - best effort: the rows are deleted; only old page images wait
            log.warning("/forget: WAL checkpoint failed (%s)", type(error).__name__)

    def after_commit(_session: Session) -> None:
        task = asyncio.get_running_loop().create_task(scrub(), name="forget-scrub")
        _scrubbing.add(task)
        task.add_done_callback(_scrubbing.discard)

    event.listen(session.sync_session, "after_commit", after_commit, once=True)


@dataclass
class ForgetReport:
    update_ids: list[int] = field(default_factory=list)  # the user's updates: their journal entries go too
    history: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    private_subscriptions: list[int] = field(default_factory=list)
    anonymised_subscriptions: int = 0
    anonymised_items: int = 0


def _json_safe(value: dict[str, Any]) -> dict[str, Any]:
    safe: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return safe


async def export_user(session: AsyncSession, user_id: int) -> dict[str, Any] | None:
    """Everything stored about the user as one JSON-ready document (None when nothing is)."""
    user = await session.get(User, user_id)
    if user is None:
        return None
    owned = await repo.user_rows(session, user_id)
    chat = await repo.private_chat(session, user_id)
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "user": repo.row_dict(user),
        "private_chat": repo.row_dict(chat) if chat is not None else None,
    }
    for name, rows in owned.items():
        document[name] = [repo.row_dict(row) for row in rows]
    jobs = Base.metadata.tables.get("jobs")
    if jobs is not None and "user_id" in jobs.c:
        document["jobs"] = await repo.table_rows(session, jobs, "user_id", user_id)
    return _json_safe(document)


def typed_pieces(texts: list[str]) -> list[str]:
    """What of a submitted text may have been copied elsewhere: the whole text, its lines and its sentences (the
    digest shows a paper's title = the first line, and an extractive summary = the first sentences)."""
    pieces: set[str] = set()
    for text in texts:
        text = text.strip()
        if not text:
            continue
        pieces.add(text)
        for line in text.splitlines():
            if len(line.strip()) >= 8:
                pieces.add(line.strip())
        for sentence in re.split(r"(?<=[.!?…])\s+", " ".join(text.split())):
            if len(sentence) >= 8:
                pieces.add(sentence)
    # Longest first: a sentence inside a line must not break the line's replacement.
    return sorted(pieces, key=len, reverse=True)


def scrub(text: str, pieces: list[str]) -> str:
    for piece in pieces:
        for form in {piece, html.escape(piece, quote=False), html.escape(piece)}:
            text = text.replace(form, REMOVED)
    return text


async def _forget_submissions(session: AsyncSession, user_id: int, report: ForgetReport) -> None:
    items = list(await repo.submissions(session, user_id))
    if not items:
        return
    pieces = typed_pieces([piece for item in items for piece in (item.title, item.text)])
    paper_ids = [item.paper_id for item in items if item.paper_id is not None]
    issues = await repo.issues_with_papers(session, paper_ids)
    carried = {paper_id for issue in issues for paper_id in (issue.papers or [])}
    for issue in issues:
        issue.text = scrub(issue.text, pieces)
    for paper in await repo.papers(session, paper_ids):
        if scrub(paper.title, pieces) != paper.title or scrub(paper.abstract, pieces) != paper.abstract:
            paper.title, paper.abstract = paper.key, ""  # the key (arxiv:…, doi:…) is the paper's, not the user's
    kept = [item for item in items if item.paper_id in carried]
    for item in kept:  # other chats received this paper: the row stays, without the user's id and words
        item.external_id = f"forgotten:{item.id}"
        item.title, item.text, item.url = "", "", None
    report.anonymised_items = len(kept)
    await repo.delete_rows(session, [item for item in items if item.paper_id not in carried])
    report.deleted["digest_items"] = len(items) - len(kept)


async def _forget_inbox(session: AsyncSession, user_id: int, report: ForgetReport) -> None:
    """Raw updates the user sent (other features' tables, looked up by name so this runs with or without them):
    finished ones deleted, pending and in-flight ones (this /forget's own) reduced to their update_id in this same
    transaction, which marks the confirmation done."""
    inbox = Base.metadata.tables.get("inbox_updates")
    if inbox is not None and {"payload", "update_id"} <= set(inbox.c.keys()):
        found = [row for row in await repo.mentioning(session, inbox, inbox.c.payload, str(user_id))
                 if _from_user(row.payload, user_id)]
        report.update_ids = [row.update_id for row in found]
        unfinished = {"pending", "processing"}
        doomed = [row.update_id for row in found if getattr(row, "status", "done") not in unfinished]
        if doomed:
            await repo.delete_where_in(session, inbox, "update_id", doomed)
        await repo.redact_payloads(session, inbox, [row.update_id for row in found if row.update_id not in doomed])
        report.deleted["inbox_updates"] = len(doomed)
        calls = Base.metadata.tables.get("inbox_calls")
        if calls is not None and {"update_id", "result"} <= set(calls.c.keys()):
            found_calls = await repo.mentioning(session, calls, calls.c.result, str(user_id))
            answers = {row.update_id for row in found_calls if _mentions_user(row.result, user_id)}
            answers |= set(report.update_ids)
            if answers:
                await repo.delete_where_in(session, calls, "update_id", sorted(answers))
            report.deleted["inbox_calls"] = len(answers)
    jobs = Base.metadata.tables.get("jobs")
    if jobs is not None and "user_id" in jobs.c:
        report.deleted["jobs"] = await repo.delete_where_equal(session, jobs, "user_id", user_id)


def _mentions_user(value: Any, user_id: int) -> bool:
    """True when a stored Bot API answer is about the user (their private chat, or them)."""
    if isinstance(value, dict):
        if value.get("id") == user_id:
            return True
        return any(_mentions_user(item, user_id) for item in value.values())
    if isinstance(value, list):
        return any(_mentions_user(item, user_id) for item in value)
    return False


def _from_user(payload: Any, user_id: int) -> bool:
    """True when a stored update was sent by (or in the private chat of) the user."""
    if not isinstance(payload, dict):
        return False
    for key, value in payload.items():
        if key == "update_id":
            continue
        if isinstance(value, dict):
            sender = value.get("from") or value.get("user") or {}  # `user`: poll answers, reactions
            chat = value.get("chat") or (value.get("message") or {}).get("chat") or {}
            if (isinstance(sender, dict) and sender.get("id") == user_id) or (
                    isinstance(chat, dict) and chat.get("id") == user_id):
                return True
    return False


async def forget_user(session: AsyncSession, user_id: int) -> ForgetReport:
    """Delete what is the user's, anonymise what belongs to groups. The caller commits (and then resyncs the
    digest scheduler, whose job store holds the jobs of the subscriptions removed here)."""
    report = ForgetReport()
    await _forget_submissions(session, user_id, report)
    report.deleted.update(await repo.delete_own_rows(session, user_id))
    report.history = report.deleted.get("history", 0)
    topics = await repo.private_topics(session, user_id)
    topics = {topic for topic in topics if topic.casefold() not in await repo.other_topics(session, user_id)}
    report.private_subscriptions = await repo.drop_private_subscriptions(session, user_id)
    report.deleted["digest_sources"] = await repo.forget_source_topics(session, topics)
    report.anonymised_subscriptions = await repo.anonymise_group_subscriptions(session, user_id)
    await _forget_inbox(session, user_id, report)
    await repo.delete_user(session, user_id)
    log.info("forgot a user: %s", {k: v for k, v in report.deleted.items() if v})
    return report
