"""The spelling benchmark's bookkeeping: the 95 % intervals (Wilson for exact match, bootstrap for mean CER), the
JSON contract, per-system word limits, buckets submitted to the engine as one concurrent request, --resume, the
--words reader with punctuation and symbols, the Markdown table; and (slow) one real LLM end to end."""
import argparse
import asyncio
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from models.spelling import bench as spelling_bench
from models.spelling.bench import (
    LLM_LIMIT,
    chart,
    limit_for,
    markdown,
    read_words_file,
    resumable,
    run_bench,
    score,
    table,
    write_outputs,
)
from models.spelling.metrics import bootstrap_mean_ci, cer, wilson_ci
from models.spelling.words import spelled, write_tsv

ROOT = Path(__file__).resolve().parents[2]
ROW_KEYS = {"system", "language", "bucket", "n", "accuracy", "cer", "ci95", "cer_ci95"}
# Tokens as outside lists write them: punctuation inside and at the end, symbols, digits, other alphabets' letters,
# ligatures, emoji (with its variation selector), and Russian/Hebrew tokens with dots and gershayim.
PUNCTUATED = ["e.g.", "Inc.", ".com", "+ve", "sh**", "œnology", "Škoda", "C♯", "AT&T", "$100", "U.S.", "(sic)",
              "don't", "rock'n'roll", "3.14", "42", "😂", "❤️", "#hashtag", "user@example.org", "C++", "50%"]
RUSSIAN_PUNCTUATED = ["т.е.", "ул.", "К.Маркса", "ВЭБ.РФ", "№5-й"]
HEBREW_PUNCTUATED = ['רמב"ם', "צה״ל", "א'", "ע.מ."]


# ---------- statistics ----------
def test_wilson_interval_known_values():
    # Wilson (1927) / Newcombe (1998) worked values, and the degenerate ends: never empty, never outside [0, 1].
    assert wilson_ci(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson_ci(0, 10) == pytest.approx((0.0, 0.2775), abs=5e-5)
    assert wilson_ci(10, 10) == pytest.approx((0.7225, 1.0), abs=5e-5)
    assert wilson_ci(50, 100) == pytest.approx((0.4038, 0.5962), abs=5e-5)
    assert all(math.isnan(x) for x in wilson_ci(0, 0))


def test_wilson_interval_agrees_with_scipy():
    for correct, total in [(0, 1), (1, 3), (7, 100), (93, 100), (250, 250), (1, 1000)]:
        interval = binomtest(correct, total).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson_ci(correct, total) == pytest.approx((interval.low, interval.high), abs=1e-6)


def test_cer_interval_is_a_seeded_bootstrap_of_the_mean():
    rng = np.random.default_rng(1)
    values = rng.exponential(0.3, size=400)
    low, high = bootstrap_mean_ci(values)
    mean, spread = values.mean(), 1.96 * values.std(ddof=1) / np.sqrt(values.size)
    # With 400 words the bootstrap interval is close to the normal one, and brackets the mean.
    assert low < mean < high
    assert low == pytest.approx(mean - spread, abs=0.2 * spread) and high == pytest.approx(mean + spread,
                                                                                            abs=0.2 * spread)
    assert bootstrap_mean_ci(values) == (low, high)  # seeded
    assert bootstrap_mean_ci([0.0] * 50) == (0.0, 0.0)
    assert bootstrap_mean_ci(values[:25])[1] - bootstrap_mean_ci(values[:25])[0] > high - low  # fewer words, wider
    assert all(math.isnan(x) for x in bootstrap_mean_ci([]))


def test_a_row_holds_accuracy_and_cer_with_their_intervals():
    words = ["cat", "house", "Zoë", "e.g.", "שלום"]
    predicted = ["cat", "hose", "Zoë", "eg", "שלום"]
    row = score("s", "en", "top", words, predicted)
    assert set(row) == ROW_KEYS
    assert row["n"] == 5 and row["accuracy"] == 60.0
    low, high = wilson_ci(3, 5)
    assert row["ci95"] == [round(100 * low, 1), round(100 * high, 1)]
    rates = [cer(p, w) for p, w in zip(predicted, words, strict=True)]
    assert row["cer"] == round(sum(rates) / 5, 3)
    cer_low, cer_high = bootstrap_mean_ci(rates)
    assert row["cer_ci95"] == [round(cer_low, 3), round(cer_high, 3)]
    assert row["cer_ci95"][0] <= row["cer"] <= row["cer_ci95"][1]


# ---------- the --words reader ----------
def test_words_reader_keeps_punctuation_and_symbols(tmp_path):
    path = tmp_path / "outside.tsv"
    write_tsv(path, PUNCTUATED + RUSSIAN_PUNCTUATED + HEBREW_PUNCTUATED)
    with path.open("a", encoding="utf-8") as file:
        file.write("C#\n")  # a line with the word alone
    by_language = read_words_file(path)
    # Nothing dropped, nothing changed; a token's language is its letters' script, and a token with no letter of
    # the four scripts (42, 😂, $100's digits) goes with the file's main language.
    assert by_language["en"] == PUNCTUATED + ["C#"]
    assert by_language["ru"] == RUSSIAN_PUNCTUATED
    assert by_language["he"] == HEBREW_PUNCTUATED
    hebrew = tmp_path / "he.tsv"
    write_tsv(hebrew, ["שלום", "42", "😂", "עברית"])
    assert read_words_file(hebrew) == {"he": ["שלום", "42", "😂", "עברית"]}


def test_words_files_make_buckets_per_language(tmp_path):
    write_tsv(tmp_path / "a.tsv", ["e.g.", "Inc.", "т.е."])
    write_tsv(tmp_path / "b.tsv", [".com", "C♯"])
    write_tsv(tmp_path / "c.tsv", ["sh**"])
    args = [f"top={tmp_path / 'a.tsv'}", f"top={tmp_path / 'c.tsv'}", str(tmp_path / "b.tsv")]
    sets = spelling_bench.test_sets(["en", "ru"], args)
    assert sets == {"en": {"top": ["e.g.", "Inc.", "sh**"], "b": [".com", "C♯"]}, "ru": {"top": ["т.е."]}}
    assert spelling_bench.test_sets(["en"], args, 1, buckets=["b"]) == {"en": {"b": [".com"]}}


def test_default_limits_per_system():
    assert LLM_LIMIT >= 100
    assert limit_for("gemma-3-270m", None) == limit_for("smollm2-135m-instruct", None) == LLM_LIMIT
    assert limit_for("char-aware", None) == limit_for("char-blind", None) == 0  # all words
    assert limit_for("gemma-3-270m", 7) == limit_for("char-aware", 7) == 7
    assert limit_for("gemma-3-270m", 0) == 0


# ---------- run_bench: the JSON contract, batching, resume ----------
class Speller:
    """A test double for an LLM engine, to check the bench's bookkeeping: it spells every word right except those in
    `wrong`, which it reverses, and records how the bench submits work."""

    def __init__(self, wrong: set[str]):
        self.wrong, self.requests, self.in_flight, self.peak = wrong, [], 0, 0

    async def ready(self):
        return self

    async def generate(self, prompts, **options):
        assert options["temperature"] == 0.0 and options["stop"] == ["\n"]
        self.requests.append(len(prompts))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.02)
        self.in_flight -= 1
        words = [prompt.rsplit("Word: ", 1)[1].split("\n")[0] for prompt in prompts]
        return [[" " + spelled(word[::-1] if word in self.wrong else word)] for word in words]


class Hub:
    def __init__(self, engines):
        self.engines = engines

    def text(self, name):
        return self.engines[name]


def _lists(tmp_path):
    files = {"top": ["cat", "dog", "e.g.", "Inc.", "Škoda", "C♯", "house", "tree", "bird", "fish", "moon", "star"],
             "rare": ["sh**", "œnology", ".com", "+ve", "zyzzyva", "quokka"]}
    args = []
    for bucket, words in files.items():
        write_tsv(tmp_path / f"{bucket}.tsv", words)
        args.append(f"{bucket}={tmp_path / bucket}.tsv")
    return files, args


async def test_run_bench_json_contract_batches_and_limits(tmp_path):
    files, args = _lists(tmp_path)
    gemma, smollm = Speller({"e.g.", "zyzzyva"}), Speller(set(files["rare"]))
    errors, progress = [], []

    async def report_progress(done, total):
        progress.append((done, total))

    report = await run_bench(Hub({"gemma-3-270m": gemma, "smollm2-135m-instruct": smollm}),
                             languages=["en"], systems=["gemma-3-270m", "smollm2-135m-instruct"], words_args=args,
                             limit=10, errors=errors, progress=report_progress)
    assert set(report) == {"results", "seconds"}
    json.dumps(report)
    rows = {(r["system"], r["bucket"]): r for r in report["results"]}
    assert [(r["system"], r["bucket"]) for r in report["results"]] == [
        ("gemma-3-270m", "top"), ("gemma-3-270m", "rare"), ("smollm2-135m-instruct", "top"),
        ("smollm2-135m-instruct", "rare")]  # a fixed order, whatever finished first
    for row in rows.values():
        assert set(row) == ROW_KEYS and row["language"] == "en"
        assert row["ci95"][0] <= row["accuracy"] <= row["ci95"][1]
    assert rows[("gemma-3-270m", "top")]["n"] == 10  # --limit cuts
    assert rows[("gemma-3-270m", "top")]["accuracy"] == 90.0
    assert rows[("gemma-3-270m", "rare")]["accuracy"] == round(100 * 5 / 6, 1)
    assert rows[("smollm2-135m-instruct", "rare")]["accuracy"] == 0.0
    assert rows[("smollm2-135m-instruct", "rare")]["ci95"] == [0.0, round(100 * wilson_ci(0, 6)[1], 1)]
    assert {(e["system"], e["word"], e["predicted"]) for e in errors} == {
        ("gemma-3-270m", "e.g.", ".g.e"), ("gemma-3-270m", "zyzzyva", "avyzzyz")} | {
        ("smollm2-135m-instruct", w, w[::-1]) for w in files["rare"] if w != w[::-1]}
    # Each bucket is one request (the engine batches its rows); both engines work at once.
    assert sorted(gemma.requests) == [6, 10] and sorted(smollm.requests) == [6, 10]
    assert progress[-1] == (4, 4)


async def test_resume_skips_finished_cells_and_keeps_their_rows(tmp_path):
    files, args = _lists(tmp_path)
    first_engine = Speller({"cat"})
    first, errors = [], []
    report = await run_bench(Hub({"gemma-3-270m": first_engine}), languages=["en"], systems=["gemma-3-270m"],
                             words_args=args, buckets=["top"], errors=errors, results=first)
    out, errors_out = tmp_path / "out.json", tmp_path / "errors.json"
    write_outputs(argparse.Namespace(json=out, errors=errors_out, chart=None, markdown=None), report, errors)
    sets = spelling_bench.test_sets(["en"], args)
    kept, kept_errors = resumable(out, errors_out, sets, ["gemma-3-270m"], None)
    assert [(r["bucket"], r["n"]) for r in kept] == [("top", 12)] and [e["word"] for e in kept_errors] == ["cat"]
    # Another word count is another experiment: not kept.
    assert resumable(out, errors_out, sets, ["gemma-3-270m"], 5) == ([], [])
    second_engine = Speller(set())
    resumed = await run_bench(Hub({"gemma-3-270m": second_engine}), languages=["en"],
                              systems=["gemma-3-270m"], words_args=args, results=kept, errors=kept_errors,
                              skip=[("gemma-3-270m", "en", "top")])
    assert second_engine.requests == [6]  # only the missing bucket ran
    assert [(r["bucket"], r["accuracy"]) for r in resumed["results"]] == [("top", round(100 * 11 / 12, 1)),
                                                                         ("rare", 100.0)]


def test_markdown_table_and_chart_show_intervals(tmp_path):
    report = {"results": [score("gemma-3-270m", "en", "top", ["ab", "cd"], ["ab", "xx"]),
                          score("gemma-3-270m", "en", "rare", ["ab", "cd"], ["ab", "cd"]),
                          score("char-aware", "he", "top", ["אב"], ["אב"])], "seconds": 1.0}
    text = markdown(report)
    assert "| lang | system | top | rare |" in text
    low, high = wilson_ci(1, 2)
    assert f"| en | gemma-3-270m | 50.0 [{100 * low:.1f}, {100 * high:.1f}] · 0.50 (n 2) | 100.0 [" in text
    assert "| he | char-aware | 100.0 [" in text and " | — |" in text
    assert "[" in table(report)
    assert chart(report, tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    # Rows written before the intervals existed still chart (no error bar).
    old = {"results": [{k: v for k, v in row.items() if k not in ("ci95", "cer_ci95")} for row in report["results"]]}
    assert chart(old, tmp_path / "old.png").exists()


def test_bench_help_says_the_default_limits():
    completed = subprocess.run([sys.executable, "-m", "models.spelling", "bench", "--help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0
    text = " ".join(completed.stdout.split())
    assert "first 100 for the LLMs" in text and "all words for char-blind and char-aware" in text
    assert "--resume" in text and "--markdown" in text


# ---------- end to end ----------
@pytest.mark.slow
@pytest.mark.bench
def test_one_llm_end_to_end_then_resume(tmp_path):
    """gemma-3-270m on a few outside words through the CLI: the JSON contract, the errors file, the Markdown table;
    then --resume with the same arguments runs nothing and keeps the rows."""
    write_tsv(tmp_path / "top.tsv", ["cat", "Paris", "e.g.", "dog"])
    write_tsv(tmp_path / "rare.tsv", ["quokka", "Škoda", "C♯"])
    out, errors, table_md = tmp_path / "llm.json", tmp_path / "errors.json", tmp_path / "llm.md"
    command = [sys.executable, "-m", "models.spelling", "bench", "--systems", "gemma-3-270m", "--lang", "en",
               "--words", f"top={tmp_path / 'top.tsv'}", f"rare={tmp_path / 'rare.tsv'}", "--json", str(out),
               "--errors", str(errors), "--markdown", str(table_md)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(out.read_text())
    assert set(report) == {"results", "seconds"}
    assert [(r["bucket"], r["n"]) for r in report["results"]] == [("top", 4), ("rare", 3)]
    for row in report["results"]:
        assert set(row) == ROW_KEYS and row["ci95"][0] <= row["accuracy"] <= row["ci95"][1]
    wrong = json.loads(errors.read_text())
    assert sum(r["n"] * (100 - r["accuracy"]) / 100 for r in report["results"]) == pytest.approx(len(wrong), abs=0.1)
    assert "| en | gemma-3-270m |" in table_md.read_text()
    again = subprocess.run(command + ["--resume"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "2 finished cells kept" in again.stderr
    assert json.loads(out.read_text())["results"] == report["results"]


def test_cli_writes_partial_files_and_resumed_runs_add_up(tmp_path, monkeypatch):
    """The CLI with the engine double: while a cell waits its turn, --json already holds the finished ones
    ("partial"); runs of one bucket at a time with --resume add up in one file; a cell already there is not run
    again."""
    import models.hub
    from models.spelling.__main__ import main

    files, args = _lists(tmp_path)
    write_tsv(tmp_path / "mid.tsv", ["sun", "rain"])
    out, errors_out = tmp_path / "llm.json", tmp_path / "errors.json"
    seen = []

    class Peeking(Speller):
        async def generate(self, prompts, **options):
            seen.append(json.loads(out.read_text()) if out.exists() else None)
            return await super().generate(prompts, **options)

    engine = Peeking({"cat", "zyzzyva"})

    class FakeHub(Hub):
        def __init__(self, settings):
            assert settings.engine_max_batch == 16
            super().__init__({"gemma-3-270m": engine})

        async def close(self):
            pass

    monkeypatch.setattr(models.hub, "ModelHub", FakeHub)
    common = ["bench", "--systems", "gemma-3-270m", "--json", str(out), "--errors", str(errors_out)]
    assert main(common + ["--words", *args, f"mid={tmp_path / 'mid.tsv'}"]) == 0
    # Two buckets run at once; the third waited for one of them and found the finished cells in the file.
    assert seen[:2] == [None, None] and seen[2]["partial"] is True
    assert 1 <= len(seen[2]["results"]) <= 2 and "mid" not in {r["bucket"] for r in seen[2]["results"]}
    assert main(common + ["--words", *args, f"mid={tmp_path / 'mid.tsv'}", "--resume"]) == 0
    assert len(engine.requests) == 3  # nothing left to run
    out.unlink()
    errors_out.unlink()
    assert main(common + ["--words", *args, "--buckets", "top", "--lang", "en", "ru"]) == 0
    assert main(common + ["--words", *args, "--buckets", "rare", "--resume", "--markdown", str(tmp_path / "t.md")]) == 0
    assert engine.requests[3:] == [len(files["top"]), len(files["rare"])]
    report = json.loads(out.read_text())
    assert "partial" not in report
    assert [(r["bucket"], r["n"], r["accuracy"]) for r in report["results"]] == [
        ("top", 12, round(100 * 11 / 12, 1)), ("rare", 6, round(100 * 5 / 6, 1))]
    assert sorted(e["word"] for e in json.loads(errors_out.read_text())) == ["cat", "zyzzyva"]
    assert "| en | gemma-3-270m |" in (tmp_path / "t.md").read_text()
