"""The broadcast benchmark runs end to end on a few chats (so it cannot rot unnoticed between benchmark runs)."""
import json

from bench.broadcast import main


def test_bench_delivers_once_and_a_crash_never_duplicates_and_loses_only_in_flight(tmp_path, capsys):
    assert main(["--chats", "50", "--json", str(tmp_path / "broadcast.json")]) == 0
    assert "crash+resume" in capsys.readouterr().out
    report = json.loads((tmp_path / "broadcast.json").read_text())
    assert report["chats"] == 50 and report["messages"] > 45 and report["msg_per_s"] > 0
    # Clean run: every message exactly once, every chat settled.
    assert report["lost"] == report["duplicated"] == 0
    blocked = report["blocked"]
    assert report["clean"]["states"] == {"sent": 50 - blocked} | ({"blocked": blocked} if blocked else {})
    # Crash run: the first broadcaster was cancelled mid-run, a second one resumed. Nothing arrives twice; a
    # message can be lost only if it was in flight at the crash (its row ends `unknown`: at most once), at most
    # one per concurrent send; every other chat is settled (no row left pending or claimed).
    assert report["crashed"] and report["crash_duplicated"] == 0
    assert report["crash_lost"] <= report["crash_unknown"] <= 16
    states = report["crash"]["states"]
    assert set(states) <= {"sent", "blocked", "unknown"} and sum(states.values()) == 50
