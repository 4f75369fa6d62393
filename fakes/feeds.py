"""A fake arXiv API (Atom, with opensearch paging) and RSS/Atom feeds on loopback, for tests and offline demos.

    /api/query?search_query=..&start=..&max_results=..   arXiv's API shape; records request times (spacing)
    /rss/<name>                                          an RSS 2.0 feed set with `feeds[name] = [FeedEntry...]`
    /broken                                              500, or whatever `fail_next` scripts

    python -m fakes.feeds --port 8096
"""
import argparse
import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

from fakes.server import LoopbackServer


@dataclass
class ArxivPaper:
    arxiv_id: str
    title: str
    abstract: str
    published: datetime = field(default_factory=lambda: datetime.now(UTC))
    categories: tuple[str, ...] = ("cs.CL",)
    authors: tuple[str, ...] = ()


@dataclass
class FeedEntry:
    title: str
    link: str
    description: str
    published: datetime = field(default_factory=lambda: datetime.now(UTC))
    guid: str | None = None


class FakeFeeds(LoopbackServer):
    def __init__(self) -> None:
        self.papers: list[ArxivPaper] = []
        self.feeds: dict[str, list[FeedEntry]] = {}
        self.api_requests: list[tuple[float, dict]] = []  # (monotonic time, query params)
        self.failures: list[int] = []  # statuses returned by the next API/feed calls, in order
        self.app = web.Application()
        self.app.router.add_get("/api/query", self._api)
        self.app.router.add_get("/rss/{name}", self._rss)
        self.app.router.add_get("/broken", self._broken)

    async def _broken(self, request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    @property
    def base_url(self) -> str:
        return self.origin

    def fail_next(self, *statuses: int) -> None:
        self.failures.extend(statuses)


    async def _api(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        self.api_requests.append((time.monotonic(), params))
        if self.failures:
            return web.Response(status=self.failures.pop(0), text="unavailable")
        start, count = int(params.get("start", 0)), int(params.get("max_results", 10))
        wanted = [p for p in self.papers if _matches(p, params.get("search_query", ""))]
        if params.get("id_list"):  # arXiv's lookup by id (comma-separated, versions ignored)
            ids = {i.split("v")[0] for i in params["id_list"].split(",")}
            wanted = [p for p in self.papers if p.arxiv_id in ids]
        wanted.sort(key=lambda p: p.published, reverse=True)
        page = wanted[start:start + count]
        entries = "".join(
            f"<entry><id>http://arxiv.org/abs/{p.arxiv_id}v1</id><title>{escape(p.title)}</title>"
            f"<summary>{escape(p.abstract)}</summary><published>{p.published.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            f"</published><link href=\"http://arxiv.org/abs/{p.arxiv_id}v1\" rel=\"alternate\" type=\"text/html\"/>"
            + "".join(f"<author><name>{escape(a)}</name></author>" for a in p.authors)
            + "".join(f'<category term="{c}"/>' for c in p.categories) + "</entry>" for p in page)
        body = ('<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
                'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><title>arXiv Query</title>'
                f"<opensearch:totalResults>{len(wanted)}</opensearch:totalResults>"
                f"<opensearch:startIndex>{start}</opensearch:startIndex>"
                f"<opensearch:itemsPerPage>{count}</opensearch:itemsPerPage>{entries}</feed>")
        return web.Response(text=body, content_type="application/atom+xml")

    async def _rss(self, request: web.Request) -> web.Response:
        if self.failures:
            return web.Response(status=self.failures.pop(0), text="unavailable")
        name = request.match_info["name"]
        if name not in self.feeds:
            return web.Response(status=404, text="no such feed")
        items = "".join(
            f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link>"
            f"<description>{escape(e.description)}</description><guid>{escape(e.guid or e.link)}</guid>"
            f"<pubDate>{format_datetime(e.published)}</pubDate></item>" for e in self.feeds[name])
        body = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(name)}</title>'
                f"<link>{self.base_url}</link><description>fake</description>{items}</channel></rss>")
        return web.Response(text=body, content_type="application/rss+xml")


def _matches(paper: ArxivPaper, query: str) -> bool:
    """Enough of arXiv's query language for tests: `cat:X` terms OR-ed; other terms ignored."""
    categories = [term.split(":", 1)[1].strip("()") for term in query.replace("(", " ").replace(")", " ").split()
                  if term.startswith("cat:")]
    return not categories or any(c in paper.categories for c in categories)


async def _serve(port: int) -> None:
    feeds = FakeFeeds()
    feeds.papers = [ArxivPaper("2408.06518", "Does Liking Yellow Imply Driving a School Bus? Semantic Leakage in "
                               "Language Models", "We identify and characterize semantic leakage. Models leak.")]
    feeds.feeds["demo"] = [FeedEntry("Character-Aware Models Improve Visual Text Rendering",
                                     "https://arxiv.org/abs/2212.10562", "ByT5 spells; T5 does not.")]
    await feeds.start(port)
    print(f"fake arXiv API at {feeds.base_url}/api/query, RSS at {feeds.base_url}/rss/demo", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m fakes.feeds")
    parser.add_argument("--port", type=int, default=8096)
    asyncio.run(_serve(parser.parse_args().port))
