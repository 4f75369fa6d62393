"""Cross-lingual grouping: how many of the bundled sample posts join their paper by similarity alone.

    python bench/grouping.py [--embedders minilm e5-small …] [--json OUT]

The bundled samples (digests/samples/: five arXiv papers, channel posts about them in en/ru/fa/he) go through the
digest pipeline's own grouping (`digests.pipeline.group_posts`) with every link and arXiv id removed from the posts,
so identity cannot help: each post must join its paper's group by embedding similarity (paper title + abstract as
the anchor) at the grouping threshold. For each embedder: at its calibrated threshold
(models/embedder_choice.json for the grouping embedder, otherwise the balanced-accuracy threshold of
`python -m models.leakage embeddings` — the sentence pairs of models/leakage/eval, another source than these posts)
and, for MiniLM, the old default 0.7; also how often the most similar paper is the right one regardless of the
threshold. Prints a table; --json writes the same numbers."""
import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from digests.pipeline import PostView, group_posts
from digests.samples import SAMPLES
from models.config import ModelSettings
from models.hub import ModelHub
from models.leakage import embedeval
from models.registry import embedder_choice

LINKS = re.compile(r"(?:https?://|www\.|(?<![\w/])arxiv\.org/)\S+|\barXiv:\s*\S+|\b\d{4}\.\d{4,5}(?:v\d+)?\b",
                   re.IGNORECASE)


def _lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


async def calibrated_threshold(embed: Any, name: str) -> float:
    grouping = embedder_choice().get("grouping") or {}
    if grouping.get("embedder") == name and grouping.get("threshold") is not None:
        return float(grouping["threshold"])
    items = embedeval.load_items()
    positive, negative = [], []
    for language in embedeval.LANGUAGES[1:]:
        pos, neg = embedeval.pairs(items, "translation", language)
        positive.append(await embedeval._cosines(embed, pos))
        negative.append(await embedeval._cosines(embed, neg))
    return round(embedeval.threshold(np.concatenate(positive), np.concatenate(negative)), 3)


async def run(names: list[str]) -> dict[str, Any]:
    from digests.language import detect_language

    papers = _lines("papers.jsonl")
    posts = _lines("posts.jsonl")
    anchors = [PostView(-i - 1, f"arxiv:{p['arxiv_id']}", p["title"], p["abstract"], "en")
               for i, p in enumerate(papers)]
    truth: dict[int, str | None] = {}
    loose = []
    for index, raw in enumerate(posts, 1):
        text = " ".join(LINKS.sub(" ", raw["text"]).split())
        truth[index] = f"arxiv:{raw['about']}"  # the paper the post is about, recorded with the sample
        loose.append(PostView(index, None, raw["channel"], text, detect_language(raw["text"])))
    hub = ModelHub(ModelSettings())
    results: dict[str, Any] = {"posts": len(loose), "papers": len(papers),
                               "posts_by_language": {}, "runs": []}
    for post in loose:
        results["posts_by_language"][post.language] = results["posts_by_language"].get(post.language, 0) + 1
    try:
        for name in names:
            engine = await hub.embedder(name).ready()
            settings = [("calibrated", await calibrated_threshold(engine.embed, name))]
            if name == "minilm":
                settings.insert(0, ("old default", 0.7))
            # Which paper is nearest, whatever the threshold.
            vectors = await engine.embed([f"{a.title}. {a.text}"[:512] for a in anchors] +
                                         [f"{p.title}. {p.text}"[:512] for p in loose])
            nearest = [anchors[int(np.argmax(vectors[:len(anchors)] @ v))].key for v in vectors[len(anchors):]]
            top1 = sum(key == truth[p.item_id] for key, p in zip(nearest, loose, strict=True))
            for label, threshold in settings:
                started = time.perf_counter()
                groups = await group_posts(anchors + loose, engine.embed, threshold)
                joined = {m.item_id: g.key for g in groups for m in g.members if m.item_id > 0}
                right = [p for p in loose if joined.get(p.item_id) == truth[p.item_id]]
                by_language: dict[str, list[int]] = {}
                for post in loose:
                    entry = by_language.setdefault(post.language, [0, 0])
                    entry[0] += post in right
                    entry[1] += 1
                results["runs"].append({
                    "embedder": name, "threshold_kind": label, "threshold": threshold, "joined": len(right),
                    "of": len(loose), "nearest_paper_right": top1,
                    "wrong_paper": sum(1 for p in loose if joined.get(p.item_id, "").startswith("arxiv:")
                                       and joined[p.item_id] != truth[p.item_id]),
                    "by_language": {k: {"joined": v[0], "of": v[1]} for k, v in sorted(by_language.items())},
                    "seconds": round(time.perf_counter() - started, 2)})
    finally:
        await hub.close()
    return results


def table(results: dict[str, Any]) -> str:
    languages = sorted(results["posts_by_language"])
    lines = [f"{results['posts']} sample posts (links and ids removed), {results['papers']} papers",
             f"{'embedder':<18}{'threshold':<20}{'joined':>8}{'wrong':>7}{'nearest':>9}  " +
             "  ".join(f"{lang:>5}" for lang in languages)]
    for run_ in results["runs"]:
        cells = "  ".join(f"{run_['by_language'][lang]['joined']}/{run_['by_language'][lang]['of']:<3}"
                          for lang in languages)
        lines.append(f"{run_['embedder']:<18}{run_['threshold_kind'] + ' ' + str(run_['threshold']):<20}"
                     f"{run_['joined']:>5}/{run_['of']:<2}{run_['wrong_paper']:>7}{run_['nearest_paper_right']:>6}/"
                     f"{run_['of']:<2}  {cells}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embedders", nargs="+", default=list(embedeval.EMBEDDERS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.embedders))
    print(table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
