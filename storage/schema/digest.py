"""Paper digests: sources and their health, fetched items, papers, subscriptions, issues and deliveries."""
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, utcnow


class DigestSource(Base):
    __tablename__ = "digest_sources"
    __table_args__ = (UniqueConstraint("kind", "locator", name="uq_digest_sources_kind_locator"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # arxiv | feed | channel | submit
    locator: Mapped[str] = mapped_column(String(512))  # query, URL, channel id, "submit"
    name: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_fetch_at: Mapped[datetime | None] = mapped_column()
    last_ok_at: Mapped[datetime | None] = mapped_column()
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive
    last_error: Mapped[str | None] = mapped_column(Text)
    items_total: Mapped[int] = mapped_column(Integer, default=0)


class Paper(Base):
    __tablename__ = "digest_papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)  # arxiv:ID | doi:DOI | title:normalized
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="en")
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # arXiv's author names, comma-separated ("" when unknown: a post's paper); migration 0009_paper_authors.
    authors: Mapped[str] = mapped_column(Text, default="", server_default="")


class DigestItem(Base):
    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("source_id", "external_id", name="uq_digest_items_source_external"),
                      Index("ix_digest_items_published", "published_at"), Index("ix_digest_items_paper", "paper_id"),
                      Index("ix_digest_items_created", "created_at"))  # the issue window (storage/repo/digest.py)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(Integer, ForeignKey("digest_sources.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(512))
    paper_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("digest_papers.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="other")
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subscription(Base):
    __tablename__ = "digest_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("chats.id", ondelete="CASCADE"))
    topics: Mapped[list[str]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8))
    schedule: Mapped[str] = mapped_column(String(8))  # daily | weekly
    time: Mapped[str] = mapped_column(String(5))  # HH:MM in `timezone`
    weekday: Mapped[int | None] = mapped_column(SmallInteger)  # 0 = Monday, weekly only
    timezone: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    empty_policy: Mapped[str] = mapped_column(String(8))  # note | silent
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The forum topic the digest goes to (where /subscribe was sent); None: the General topic (migration 0007).
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    # Ranking: topics | profile | both (the chat's votes and reading list; with no profile `both` is `topics`).
    mode: Mapped[str] = mapped_column(String(8), default="both", server_default="both")  # migration 0008_profile
    # The end of the window the latest issue covered (digests/calendar.py); None before the first issue.
    covered_until: Mapped[datetime | None] = mapped_column()


class DigestIssue(Base):
    __tablename__ = "digest_issues"
    __table_args__ = (UniqueConstraint("subscription_id", "period", name="uq_digest_issues_subscription_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("digest_subscriptions.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(32))  # the scheduled slot, e.g. 2026-11-24T09:00: one issue each
    papers: Mapped[list[int]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    __tablename__ = "digest_deliveries"
    __table_args__ = (UniqueConstraint("issue_id", "chat_id", name="uq_digest_deliveries_issue_chat"),
                      Index("ix_digest_deliveries_state", "state", "issue_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issue_id: Mapped[int] = mapped_column(Integer, ForeignKey("digest_issues.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # pending → sending → sent | blocked | failed. "sending" left behind by a crash is never sent again
    # (at most once); the broadcaster marks it "unknown".
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
