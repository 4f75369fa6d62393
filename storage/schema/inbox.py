"""The durable inbox: every update Telegram delivered is stored here (keyed by its `update_id`) before Telegram is
told 200, and marked done in the same transaction as the handler's writes. Long-running work an update started
(benchmarks, suites, and /leak or /flux inside their update) is a job with a row of its own, so a restart can tell
its user that it was interrupted (and the update's next run does not repeat /leak's or /flux's work)."""
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, utcnow

# Update states: pending → processing (claimed by `owner` until `lease_until`) → done | failed.
PENDING, PROCESSING, DONE, FAILED = "pending", "processing", "done", "failed"
# Job states: running → done | failed | cancelled (/cancel) | interrupted (a shutdown or its process died).
RUNNING, INTERRUPTED, CANCELLED = "running", "interrupted", "cancelled"


class InboxUpdate(Base):
    __tablename__ = "inbox_updates"
    __table_args__ = (
        Index("ix_inbox_updates_status_update", "status", "update_id"),
        Index("ix_inbox_updates_finished", "finished_at"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    owner: Mapped[str | None] = mapped_column(String(96))
    lease_until: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class InboxCursor(Base):
    """Named positions, e.g. the long-polling offset: the next `getUpdates` offset, written in the transaction that
    stored the updates it confirms."""
    __tablename__ = "inbox_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class JobRecord(Base):
    """The row of a job (handlers/jobs.py `RunningJob` is the job running in a process), written by the inbox's
    JobJournal: running → done | failed | interrupted; an interrupted one is told to its user once (`notified`).
    A job that runs inside its update (/leak, /flux) is looked up by `update_id` when that update runs again."""
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_heartbeat", "status", "heartbeat_at"),
                      Index("ix_jobs_update", "update_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))  # e.g. "leakbench-gemma-3-270m"
    command: Mapped[str | None] = mapped_column(String(32))  # the command that started it, for the notice
    update_id: Mapped[int | None] = mapped_column(BigInteger)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)  # the forum topic it was asked in: the notice goes there
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=RUNNING)
    owner: Mapped[str] = mapped_column(String(96))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    notified: Mapped[bool] = mapped_column(default=False)  # the user was told it was interrupted


class InboxCall(Base):
    """The Bot API calls an update made that change something in Telegram (a message sent, edited, a button
    answered): written before the request and completed with its result after it. An update processed again after a
    crash gets these answers back instead of sending again (bot/transports/calls.py)."""
    __tablename__ = "inbox_calls"
    __table_args__ = (PrimaryKeyConstraint("update_id", "seq"), Index("ix_inbox_calls_created", "created_at"))

    update_id: Mapped[int] = mapped_column(BigInteger, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, autoincrement=False)
    method: Mapped[str] = mapped_column(String(64))
    result: Mapped[Any | None] = mapped_column(JSON)  # None until Telegram answered
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
