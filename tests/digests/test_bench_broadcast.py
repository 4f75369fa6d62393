"""The broadcast benchmark runs end to end on a few chats (so it cannot rot unnoticed between benchmark runs)."""
import json

from bench.broadcast import main


def test_bench_delivers_every_message_once_even_across_a_crash(tmp_path, capsys):
    assert main(["--chats", "50", "--json", str(tmp_path / "broadcast.json")]) == 0
    assert "crash+resume" in capsys.readouterr().out
    report = json.loads((tmp_path / "broadcast.json").read_text())
    assert report["chats"] == 50 and report["messages"] > 45 and report["msg_per_s"] > 0
    assert report["lost"] == report["duplicated"] == report["crash_duplicated"] == 0
    assert report["crash_lost"] <= report["crash_unknown"] <= 16  # only a part in flight at the crash can be lost
    blocked = report["blocked"]
    assert report["clean"]["states"] == {"sent": 50 - blocked} | ({"blocked": blocked} if blocked else {})
