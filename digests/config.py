"""Digest settings: a section of `bot.config.AppSettings` (environment / .env)."""
from typing import Literal

from pydantic import Field

from models.config import EnvSettings


class DigestSettings(EnvSettings):

    arxiv_api_base: str = "https://export.arxiv.org/api/query"
    arxiv_request_spacing_s: float = Field(3.0, ge=0)  # arXiv asks for at least 3 s between requests
    arxiv_page_size: int = Field(50, ge=1, le=2000)
    arxiv_max_results: int = Field(100, ge=1)
    # Comma-separated arXiv categories fetched for every subscription's topics (e.g. cs.CL,cs.LG).
    digest_arxiv_categories: str = "cs.CL,cs.LG"
    digest_feeds: str = ""  # comma-separated RSS/Atom URLs
    digest_fetch_interval_min: int = Field(60, ge=1)
    # Cosine for a post without a link to join a paper; unset: the grouping embedder's calibrated threshold.
    digest_similarity_threshold: float | None = Field(None, ge=0, le=1)
    digest_lookback_days: int = Field(7, ge=1)
    # Windows follow arXiv's announcement calendar (digests/calendar.py); "off": no announcement days at all.
    digest_calendar: Literal["arxiv", "off"] = "arxiv"
    digest_catchup_days: int = Field(30, ge=1)  # how far back a paused or long-missed digest catches up
    digest_profile_half_life_days: float = Field(30.0, gt=0)  # a vote or reading-list paper counts half after this
    # Text model for one-sentence summaries written in the reader's language (this is the translation path): a
    # REMOTE_MODELS entry (chat models via /v1/chat/completions) or an EXTRA_MODELS one; empty = the extractive
    # summary, in the original language and marked with it. docs/digests.md names models that write fa/he/ru.
    digest_summary_model: str = ""
    # Seconds one paper's summary may take; past it the marked original is used (and /digest says "timeout").
    digest_summary_timeout_s: float = Field(30.0, gt=0)
    digest_summary_max_tokens: int = Field(96, ge=16, le=512)  # within the engine's ENGINE_MAX_NEW_TOKENS
    # scheduler: "auto" runs it in the process that wins the lock; "off" never (a separate `scheduler` role runs it).
    digest_scheduler: Literal["auto", "off"] = "auto"
    # A digest whose time passed while no scheduler ran is still sent if at most this late (then coalesced to one).
    digest_misfire_grace_s: int = Field(3600, ge=1)
    broadcast_per_second: float = Field(29.5, gt=0)  # Telegram allows about 30 messages/s overall; 429s are handled
    broadcast_per_chat_interval_s: float = Field(1.0, ge=0)
    broadcast_group_per_minute: int = Field(20, ge=1)
    broadcast_retries: int = Field(5, ge=0)
    broadcast_concurrency: int = Field(16, ge=1)
