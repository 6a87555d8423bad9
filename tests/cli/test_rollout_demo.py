"""``infertel demo`` runs the rollout guard: its failing canary is rolled back, the decision
reproduces from the store, and ``infertel report`` marks it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infertel.cli._rollout_store import read_rollout

pytestmark = pytest.mark.integration


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infertel", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=300, check=False,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def test_the_demo_canary_is_rolled_back_and_the_report_marks_it(tmp_path: Path) -> None:
    # A half-and-half split gives the canary enough calls to be judged on a busy machine.
    demo = _cli("demo", "--seconds", "8", "--canary-share", "0.5", "--local-dir", "store",
                cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "Rollout guard: ROLLBACK (canary rolled back" in demo.stdout
    assert "error_rate worse" in demo.stdout
    status = _cli("rollout", "status", "store", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert report["stored_decisions"][-1]["stored_action"] == "rollback"
    assert all(check["reproduced"] for check in report["stored_decisions"])
    html = _cli("report", "store", "--out", "report.html", cwd=tmp_path)
    assert html.returncode == 0, html.stderr
    assert "rollout: rollback" in (tmp_path / "report.html").read_text()
    # The switch flipped: no canary call started after the rollback was decided (the worker
    # logs the decision as it flips the switch; calls in flight then may still finish).
    found = read_rollout(tmp_path / "store")
    decided_ns = next(d.time_ns for d in found.decisions if d.decision["action"] == "rollback")
    canary_after = [o for calls in found.calls.values() for o in calls
                    if o.ring == "canary" and o.end_ns - o.duration_s * 1e9 > decided_ns + 1e8]
    stable_after = [o for calls in found.calls.values() for o in calls
                    if o.ring == "stable" and o.end_ns > decided_ns + 1e8]
    assert canary_after == []
    assert stable_after  # traffic went on, all of it to stable
