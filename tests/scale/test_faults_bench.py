"""bench/faults.py runs end to end (`--quick`) on two of its scenarios, so it cannot rot between benchmark runs: its
own PostgreSQL cluster restarted under load, and the fake Bot API answering 502 to a third of the calls. Slow: two
web replicas start per scenario (minutes on a busy machine)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {"scenario", "acknowledged", "processed", "lost", "duplicated", "answered", "recovered_after_s",
          "errors_logged"}

pytestmark = [pytest.mark.slow, pytest.mark.bench, pytest.mark.skipif(
    not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or shutil.which("redis-server") is None,
    reason="needs PostgreSQL's initdb and redis-server (the bench runs servers of its own)")]


@pytest.mark.parametrize("scenario", ["pg_restart", "botapi_5xx"])
def test_quick_fault_scenario_loses_nothing_and_duplicates_nothing(tmp_path, scenario):
    out = tmp_path / "faults.json"
    done = subprocess.run([sys.executable, "bench/faults.py", "--quick", "--scenario", scenario, "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    [result] = json.loads(out.read_text())["scenarios"]
    assert FIELDS <= set(result) and result["scenario"] == scenario
    assert result["acknowledged"] == result["updates"] == result["answered"] == result["processed"]
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert result["readyz_reflected"] is not False
    assert result["errors_logged"] == 0, result["error_lines"]
    if scenario == "botapi_5xx":
        assert result["bot_api_faults_injected"] > 0 and result["reruns"] > 0
