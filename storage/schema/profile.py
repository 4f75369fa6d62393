"""A chat's interest profile for digest ranking: its reading list (/like, imported BibTeX or id lists), cached
paper embeddings (the grouping embedder's vectors of title + abstract), and for each issue the reasons each paper
was ranked where it was (shown by /sources). Votes come from digest_votes (storage/schema/groups.py)."""
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, utcnow


class ReadingListEntry(Base):
    __tablename__ = "digest_reading_list"
    __table_args__ = (UniqueConstraint("chat_id", "arxiv_id", name="uq_digest_reading_list_chat_arxiv"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("chats.id", ondelete="CASCADE"))
    arxiv_id: Mapped[str] = mapped_column(String(32))  # version dropped
    # None until the paper's metadata is known (arXiv unreachable at /like time: resolved later).
    paper_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("digest_papers.id", ondelete="SET NULL"))
    origin: Mapped[str] = mapped_column(String(8))  # like | import
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaperEmbedding(Base):
    __tablename__ = "digest_paper_embeddings"

    paper_id: Mapped[int] = mapped_column(Integer, ForeignKey("digest_papers.id", ondelete="CASCADE"),
                                          primary_key=True)
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(40))  # sha1 of the embedded text: a changed paper is re-embedded
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, L2-normalised
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IssueRanking(Base):
    __tablename__ = "digest_rankings"
    __table_args__ = (UniqueConstraint("issue_id", "paper_id", name="uq_digest_rankings_issue_paper"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issue_id: Mapped[int] = mapped_column(Integer, ForeignKey("digest_issues.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(Integer, ForeignKey("digest_papers.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    # [{"kind": "topic", "label": "dpo"}, {"kind": "like", "label": "<title>", "similarity": 0.86}, …]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
