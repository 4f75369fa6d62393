"""The update benchmark runs end to end (a few updates, so it cannot rot unnoticed between benchmark runs)."""
import json

from bench.updates import main, run


async def test_both_stacks_answer_every_update():
    report = await run(n=60, users=7, seed=1, warmup=5, profile=None, concurrency=4)
    bare, full = report["results"]
    assert bare["bot_api_calls"] == full["bot_api_calls"] == 60  # every update answered once, by both stacks
    assert full["db_users"] == 7 and full["db_error_rows"] == 0
    assert 0 < report["ratio_b_over_a"] and full["p50_ms"] <= full["p99_ms"]


def test_cli_writes_json(tmp_path, capsys):
    assert main(["--n", "20", "--users", "3", "--warmup", "0", "--json", str(tmp_path / "out.json")]) == 0
    assert "ratio (b)/(a)" in capsys.readouterr().out
    assert json.loads((tmp_path / "out.json").read_text())["n"] == 20
