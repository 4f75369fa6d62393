"""Bundled sample sources (digests/samples/): five arXiv papers and channel posts about them in en/ru/fa/he, dated
relative to now. The offline console loads them so /digest has something to show without a network; tests use
them as multilingual sample data. Loading twice stores nothing twice (unique source + external id)."""
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from digests.sources import FetchedItem, ingest_post, source, store
from storage.schema.base import utcnow

SAMPLES = Path(__file__).with_name("samples")
SAMPLE_SOURCE = ("sample", "bundled", "arXiv (bundled sample)")


def _lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


async def load_samples(session: AsyncSession) -> int:
    """Stores the sample papers and posts; returns how many were new."""
    now = utcnow()
    src = await source(session, *SAMPLE_SOURCE)
    papers = [FetchedItem(p["arxiv_id"], p["title"], p["abstract"], f"https://arxiv.org/abs/{p['arxiv_id']}",
                          now - timedelta(hours=p["hours_ago"])) for p in _lines("papers.jsonl")]
    new = await store(session, src, papers)
    for post in _lines("posts.jsonl"):
        new += await ingest_post(session, chat_id=post["channel_id"], message_id=post["message_id"], text=post["text"],
                                 title=post["channel"], published_at=now - timedelta(hours=post["hours_ago"]))
    return new
