"""Group features: readers' 👍/👎 on the papers of a digest (the buttons under each digest message)."""
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, SmallInteger, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, utcnow


class DigestVote(Base):
    __tablename__ = "digest_votes"
    __table_args__ = (UniqueConstraint("issue_id", "paper_id", "user_id", name="uq_digest_votes_issue_paper_user"),
                      Index("ix_digest_votes_paper", "paper_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issue_id: Mapped[int] = mapped_column(Integer, ForeignKey("digest_issues.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(Integer, ForeignKey("digest_papers.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # where the vote was cast (a group, or a private chat)
    value: Mapped[int] = mapped_column(SmallInteger)  # +1 or -1
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
