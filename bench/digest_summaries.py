"""Can a text model write a digest summary in the reader's language? Each model summarizes sample papers into each
language through the same path the digest uses (digests.summary: prompt, greedy, bounded tokens, engine), and the
same check judges the answer (its language and script). Writes the raw answers and the verdicts.

    python bench/digest_summaries.py --model gemma-3-270m --model smollm2-135m-instruct --papers 3 \
        --json bench/out/digest_summaries.json
    # a remote or GPU model: REMOTE_MODELS / EXTRA_MODELS as for the bot, then --model NAME
"""
import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from digests.samples import SAMPLES
from digests.summary import Summarizer, failure_reason, judge, summarizer_for
from models.config import ModelSettings
from models.hub import ModelHub


async def run(models: list[str], languages: list[str], papers: int, timeout_s: float,
              max_tokens: int) -> dict[str, Any]:
    lines = (SAMPLES / "papers.jsonl").read_text(encoding="utf-8").splitlines()
    sample = [json.loads(line) for line in lines if line.strip()][:papers]
    hub = ModelHub(ModelSettings.load())
    rows: list[dict[str, object]] = []
    try:
        for name in models:
            summarizer = summarizer_for(hub, name, timeout_s=timeout_s, max_new_tokens=max_tokens)
            if not isinstance(summarizer, Summarizer):
                rows.append({"model": name, "verdict": summarizer.kind, "detail": summarizer.detail})
                continue
            for language in languages:
                for paper in sample:
                    started = time.perf_counter()
                    try:
                        raw = await asyncio.wait_for(summarizer.ask(paper["title"], paper["abstract"], language),
                                                     timeout_s)
                    except Exception as error:  # noqa: BLE001 - a failed call is a row of the table too
                        raw, verdict, detail = "", "failed", failure_reason(error)
                    else:
                        _, provenance = judge(raw, language, name)
                        verdict, detail = provenance.kind, provenance.detail
                    rows.append({"model": name, "language": language, "paper": paper["arxiv_id"], "raw": raw,
                                 "verdict": verdict, "detail": detail,
                                 "seconds": round(time.perf_counter() - started, 2)})
                    print(f"{name:24} {language} {paper['arxiv_id']:11} {verdict:15} {detail:10} "
                          f"{' '.join(raw.split())[:90]!r}", flush=True)
    finally:
        await hub.close()
    accepted = {f"{m}/{lang}": sum(r["verdict"] == "model" for r in rows if r["model"] == m and
                                   r.get("language") == lang)
                for m in models for lang in languages}
    return {"papers": papers, "languages": languages, "max_new_tokens": max_tokens, "accepted": accepted,
            "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="a registry text model (repeatable)")
    parser.add_argument("--language", action="append", choices=["en", "ru", "fa", "he"],
                        help="target languages (default: fa, he, ru)")
    parser.add_argument("--papers", type=int, default=3, help="how many bundled sample papers (1-5)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per summary")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args.model, args.language or ["fa", "he", "ru"], args.papers, args.timeout,
                             args.max_tokens))
    print(json.dumps(result["accepted"], ensure_ascii=False))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
