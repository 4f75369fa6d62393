"""Results of /leak probes run in chats (one row per probe run)."""
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, utcnow


class LeakResult(Base):
    __tablename__ = "leak_results"
    __table_args__ = (Index("ix_leak_results_model_created", "model", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("chats.id", ondelete="SET NULL"))
    probe_id: Mapped[str] = mapped_column(String(64))  # a suite id, or "user" for /leak <concept> | <prompt>
    language: Mapped[str] = mapped_column(String(8))
    concept: Mapped[str] = mapped_column(Text)
    control: Mapped[str] = mapped_column(Text)
    test: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(128))
    n: Mapped[int] = mapped_column(Integer)
    temperatures: Mapped[list[float]] = mapped_column(JSON)
    leak_rate: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float] = mapped_column(Float)
    ci_high: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float] = mapped_column(Float)
    samples: Mapped[dict[str, Any]] = mapped_column(JSON)  # continuations and similarities, for "show all samples"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
