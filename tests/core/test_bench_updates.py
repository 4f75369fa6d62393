"""The update benchmark runs end to end (a few updates, so it cannot rot unnoticed between benchmark runs)."""
import json

import pytest

from bench.updates import main, run, summary, synthetic_updates


async def test_both_stacks_answer_every_update_and_the_report_adds_up():
    report = await run(n=60, users=7, seed=1, warmup=5, profile=None, concurrency=4)
    bare, full = report["results"]
    assert bare["bot_api_calls"] == full["bot_api_calls"] == 60  # every update answered once, by both stacks
    assert full["db_users"] == 7 and full["db_error_rows"] == 0
    measured, warmup = synthetic_updates(60, 7, 1), synthetic_updates(5, 7, 2)  # the bench's seeds: seed, seed + 1
    commands = sum(update.message.text.startswith("/") for update in measured + warmup)
    assert full["db_history_rows"] == commands  # every /help and /history recorded, plain text not
    for stack in (bare, full):  # `seconds` is rounded to the ms (the bare stack takes ~15 ms), the rate to 0.1
        assert stack["updates"] == 60
        slowest, fastest = 60 / (stack["seconds"] + 0.0005), 60 / max(stack["seconds"] - 0.0005, 1e-6)
        assert slowest - 0.05 <= stack["updates_per_s"] <= fastest + 0.05
    assert report["ratio_b_over_a"] == pytest.approx(full["updates_per_s"] / bare["updates_per_s"], abs=1e-3)
    assert report["meets_target"] == (report["ratio_b_over_a"] >= report["target_ratio"])


def test_summary_reports_the_median_and_the_99th_percentile():
    latencies = [0.001 * k for k in range(1, 201)]  # 1 … 200 ms, shuffled: the order must not matter
    latencies = latencies[::2] + latencies[1::2]
    row = summary("x", 200, 4.0, latencies)
    assert row["p50_ms"] == pytest.approx(100.5) and row["p99_ms"] == pytest.approx(199.0)
    assert row["updates_per_s"] == 50.0


def test_cli_writes_json(tmp_path, capsys):
    assert main(["--n", "20", "--users", "3", "--warmup", "0", "--json", str(tmp_path / "out.json")]) == 0
    assert "ratio (b)/(a)" in capsys.readouterr().out
    assert json.loads((tmp_path / "out.json").read_text())["n"] == 20
