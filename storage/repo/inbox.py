"""Repository of the durable inbox and the job journal (tables in `storage/schema/inbox.py`).

Claims are leases: a process marks rows `processing` with its `owner` id and a `lease_until`, renews the lease while
it works (heartbeat), and a row whose lease ran out (its process died) is claimed again by anyone. On PostgreSQL the
claim's inner SELECT takes `FOR UPDATE SKIP LOCKED`, so several processes claiming at once never wait for each other
and never take the same row; SQLite has one writer at a time, which gives the same guarantee."""
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.schema.base import utcnow
from storage.schema.inbox import (
    DONE,
    FAILED,
    INTERRUPTED,
    PENDING,
    PROCESSING,
    RUNNING,
    InboxCursor,
    InboxUpdate,
    JobRecord,
)


class NotClaimed(Exception):
    """The update is no longer claimed by this process (its lease ran out and another process took it): the
    handler's writes must be rolled back, the other run is the one that counts."""


@dataclass(frozen=True)
class Claimed:
    update_id: int
    payload: dict[str, Any]
    attempts: int


def _insert(session: AsyncSession) -> Callable[..., Any]:
    bind = session.bind
    return postgresql.insert if bind is not None and bind.dialect.name == "postgresql" else sqlite.insert


def _count(result: Any) -> int:
    """Rows an UPDATE or DELETE matched (CursorResult.rowcount; not on the generic Result type)."""
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


async def store_updates(session: AsyncSession, updates: Iterable[tuple[int, dict[str, Any]]]) -> list[int]:
    """Insert updates that are not there yet; returns the ids that were new (the others are duplicates)."""
    rows = [{"update_id": update_id, "payload": payload, "status": PENDING, "attempts": 0, "received_at": utcnow()}
            for update_id, payload in updates]
    if not rows:
        return []
    statement = (_insert(session)(InboxUpdate).values(rows).on_conflict_do_nothing(index_elements=["update_id"])
                 .returning(InboxUpdate.update_id))
    return list((await session.scalars(statement)).all())


async def claim(session: AsyncSession, *, owner: str, limit: int, lease_s: float,
                now: datetime | None = None, running: Sequence[int] = ()) -> list[Claimed]:
    """Claim up to `limit` updates (oldest first): pending ones, and processing ones whose lease ran out — except
    `running`, the ones this process is working on (a lease that ran out under load is not a dead process)."""
    now = now or utcnow()
    claimable = (select(InboxUpdate.update_id)
                 .where(or_(InboxUpdate.status == PENDING,
                            (InboxUpdate.status == PROCESSING) & (InboxUpdate.lease_until < now)))
                 .order_by(InboxUpdate.update_id).limit(limit)
                 .with_for_update(skip_locked=True))  # rendered on PostgreSQL only; SQLite serialises writers
    if running:
        claimable = claimable.where(InboxUpdate.update_id.not_in(list(running)))
    statement = (update(InboxUpdate).where(InboxUpdate.update_id.in_(claimable.scalar_subquery()))
                 .values(status=PROCESSING, owner=owner, lease_until=now + timedelta(seconds=lease_s),
                         attempts=InboxUpdate.attempts + 1)
                 .returning(InboxUpdate.update_id, InboxUpdate.payload, InboxUpdate.attempts)
                 .execution_options(synchronize_session=False))
    rows = (await session.execute(statement)).all()
    return sorted((Claimed(update_id, payload, attempts) for update_id, payload, attempts in rows),
                  key=lambda row: row.update_id)


def _held(update_id: int, owner: str, attempt: int | None) -> list[Any]:
    """The claim, fenced: `attempts` grows by one at every claim, so (owner, attempt) names one claim and a run of
    an older claim (its lease ran out, someone else claimed it, it came back) never matches."""
    where = [InboxUpdate.update_id == update_id, InboxUpdate.owner == owner, InboxUpdate.status == PROCESSING]
    return where + ([InboxUpdate.attempts == attempt] if attempt is not None else [])


async def complete(session: AsyncSession, update_id: int, owner: str, *, status: str = DONE,
                   error: str | None = None, attempt: int | None = None) -> bool:
    """Mark a claimed update finished; False when this owner's claim (`attempt`, when given) no longer holds it."""
    result = await session.execute(
        update(InboxUpdate).where(*_held(update_id, owner, attempt))
        .values(status=status, finished_at=utcnow(), lease_until=None, error=error[:128] if error else None)
        .execution_options(synchronize_session=False))
    return _count(result) > 0


async def renew(session: AsyncSession, owner: str, update_ids: Sequence[int], lease_s: float) -> int:
    """Heartbeat: extend the lease of the updates this process is working on."""
    if not update_ids:
        return 0
    result = await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id.in_(list(update_ids)), InboxUpdate.owner == owner,
               InboxUpdate.status == PROCESSING)
        .values(lease_until=utcnow() + timedelta(seconds=lease_s)).execution_options(synchronize_session=False))
    return _count(result)


async def confirm(session: AsyncSession, update_id: int, owner: str, attempt: int, lease_s: float) -> bool:
    """Before a Bot API call that changes something: is this claim still ours? Renews its lease when it is (so the
    call that follows has a whole lease before anyone may take the update over)."""
    result = await session.execute(
        update(InboxUpdate).where(*_held(update_id, owner, attempt))
        .values(lease_until=utcnow() + timedelta(seconds=lease_s)).execution_options(synchronize_session=False))
    return _count(result) > 0


async def still_held(session: AsyncSession, update_id: int, owner: str, attempt: int) -> bool:
    """The fence read from outside the handler's transaction (PostgreSQL): a plain SELECT, which never waits on a
    row lock. The handler may itself hold the row's lock (`/forget` redacts its own update's payload), so an UPDATE
    here would wait on the very transaction that is waiting for this answer; the heartbeat renews the lease."""
    found = await session.execute(select(InboxUpdate.update_id).where(*_held(update_id, owner, attempt)))
    return found.first() is not None


async def release(session: AsyncSession, owner: str, update_ids: Sequence[int] | None = None) -> int:
    """Give claimed updates back (pending, no owner) so the next start, or another process, takes them at once."""
    query = update(InboxUpdate).where(InboxUpdate.owner == owner, InboxUpdate.status == PROCESSING)
    if update_ids is not None:
        query = query.where(InboxUpdate.update_id.in_(list(update_ids)))
    result = await session.execute(query.values(status=PENDING, owner=None, lease_until=None)
                                   .execution_options(synchronize_session=False))
    return _count(result)


async def release_all(session: AsyncSession) -> int:
    """Every claim back to pending, whoever holds it: only for a database one process uses (SQLite), at start,
    where any claim left over belongs to a process that died."""
    result = await session.execute(
        update(InboxUpdate).where(InboxUpdate.status == PROCESSING)
        .values(status=PENDING, owner=None, lease_until=None).execution_options(synchronize_session=False))
    return _count(result)


async def count_unfinished(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(InboxUpdate)
                                    .where(InboxUpdate.status.in_([PENDING, PROCESSING]))) or 0)


async def status_of(session: AsyncSession, update_id: int) -> str | None:
    return await session.scalar(select(InboxUpdate.status).where(InboxUpdate.update_id == update_id))


async def prune(session: AsyncSession, *, before: datetime) -> tuple[int, int]:
    """Delete finished updates and jobs older than `before`; returns (updates, jobs) deleted."""
    updates = await session.execute(delete(InboxUpdate).where(InboxUpdate.status.in_([DONE, FAILED]),
                                                              InboxUpdate.finished_at < before))
    jobs = await session.execute(delete(JobRecord).where(JobRecord.status != RUNNING, JobRecord.finished_at < before,
                                                   or_(JobRecord.status != INTERRUPTED, JobRecord.notified.is_(True))))
    return _count(updates), _count(jobs)


# --- cursors (the polling offset) ---
async def get_cursor(session: AsyncSession, name: str) -> int | None:
    return await session.scalar(select(InboxCursor.value).where(InboxCursor.name == name))


async def set_cursor(session: AsyncSession, name: str, value: int) -> None:
    statement = _insert(session)(InboxCursor).values(name=name, value=value)
    await session.execute(statement.on_conflict_do_update(index_elements=["name"],
                                                          set_={"value": statement.excluded.value}))


# --- jobs ---
async def start_job(session: AsyncSession, *, kind: str, owner: str, command: str | None, update_id: int | None,
                    chat_id: int | None, user_id: int | None, thread_id: int | None = None) -> int:
    job = JobRecord(kind=kind[:64], owner=owner, command=command[:32] if command else None, update_id=update_id,
                    chat_id=chat_id, thread_id=thread_id, user_id=user_id, status=RUNNING, started_at=utcnow(),
                    heartbeat_at=utcnow(), notified=False)
    session.add(job)
    await session.flush()
    return job.id


async def finish_job(session: AsyncSession, job_id: int, status: str) -> None:
    await session.execute(update(JobRecord).where(JobRecord.id == job_id, JobRecord.status == RUNNING)
                          .values(status=status, finished_at=utcnow()).execution_options(synchronize_session=False))


async def heartbeat_jobs(session: AsyncSession, owner: str) -> None:
    # SKIP LOCKED (PostgreSQL): a job row that its update's last transaction is finishing is locked until that
    # commit, which may follow a Bot API call; the heartbeat must not wait on it (the leases it renews would wait).
    beating = (select(JobRecord.id).where(JobRecord.owner == owner, JobRecord.status == RUNNING)
               .with_for_update(skip_locked=True))
    await session.execute(update(JobRecord).where(JobRecord.id.in_(beating.scalar_subquery()))
                          .values(heartbeat_at=utcnow()).execution_options(synchronize_session=False))


async def interrupt_stale_jobs(session: AsyncSession, *, stale_before: datetime | None) -> int:
    """Running jobs whose process stopped beating (or, with None, every running job: one process per database)
    become interrupted."""
    query = update(JobRecord).where(JobRecord.status == RUNNING)
    if stale_before is not None:
        query = query.where(JobRecord.heartbeat_at < stale_before)
    result = await session.execute(query.values(status=INTERRUPTED, finished_at=utcnow())
                                   .execution_options(synchronize_session=False))
    return _count(result)


@dataclass(frozen=True)
class Interrupted:
    """An interrupted job whose user is to be told (claimed: nobody else tells them)."""
    chat_id: int | None
    user_id: int | None
    command: str | None
    kind: str
    thread_id: int | None = None


async def unnotified_interrupted_jobs(session: AsyncSession, limit: int = 100) -> list[Interrupted]:
    """Claimed for notification by one conditional UPDATE (`notified` false → true), so two tellers never both
    tell: two processes (PostgreSQL: the row lock, SKIP LOCKED), or the start-up notice and an update that found
    its own earlier run interrupted in one process (SQLite: one writer, the condition is read again under it)."""
    claimable = (select(JobRecord.id).where(JobRecord.status == INTERRUPTED, JobRecord.notified.is_(False))
                 .order_by(JobRecord.id).limit(limit).with_for_update(skip_locked=True))
    rows = (await session.execute(
        update(JobRecord).where(JobRecord.id.in_(claimable.scalar_subquery()), JobRecord.notified.is_(False))
        .values(notified=True)
        .returning(JobRecord.id, JobRecord.chat_id, JobRecord.user_id, JobRecord.command, JobRecord.kind,
                   JobRecord.thread_id)
        .execution_options(synchronize_session=False))).all()
    return [Interrupted(chat_id, user_id, command, kind, thread_id)
            for _id, chat_id, user_id, command, kind, thread_id in sorted(rows, key=lambda row: row[0])]


# --- jobs that run inside their update (/leak, /flux) ---
async def latest_job_of_update(session: AsyncSession, update_id: int, kind: str) -> JobRecord | None:
    """The last job row this update's handler started (None: no earlier run of it got as far as its job)."""
    return await session.scalar(select(JobRecord).where(JobRecord.update_id == update_id, JobRecord.kind == kind[:64])
                                .order_by(JobRecord.id.desc()).limit(1))


async def interrupt_job(session: AsyncSession, job_id: int) -> None:
    """An earlier run's job that never finished (its process died, or shutdown cut it): interrupted, to be told."""
    await session.execute(update(JobRecord).where(JobRecord.id == job_id, JobRecord.status == RUNNING)
                          .values(status=INTERRUPTED, finished_at=utcnow())
                          .execution_options(synchronize_session=False))


async def fail_jobs(session: AsyncSession, job_ids: Sequence[int]) -> int:
    """Jobs whose update failed or was given back after its transaction rolled back their end: failed, not
    interrupted (the user heard of the failure, or the update runs again)."""
    if not job_ids:
        return 0
    result = await session.execute(update(JobRecord).where(JobRecord.id.in_(list(job_ids)),
                                                           JobRecord.status == RUNNING)
                                   .values(status=FAILED, finished_at=utcnow())
                                   .execution_options(synchronize_session=False))
    return _count(result)
