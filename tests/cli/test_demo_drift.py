"""The demo's injected drift, end to end in fresh processes: `infertel demo` writes a store,
`infertel drift --json` names the drifted feature at `alert` and the others `ok`, and
`infertel report` draws it in headless Chromium with trace ids `infertel query --trace`
resolves; `infertel scan` finds no personal data in what monitoring added."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infertel.cli._demo_service import DRIFT_FEATURES, DRIFTED_FEATURE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chromium_cdp import CHROMIUM, visit

pytestmark = pytest.mark.integration


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infertel", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("demo-drift")
    done = run_cli("demo", "--seconds", "6", "--local-dir", "store", cwd=workdir)
    assert done.returncode == 0, done.stderr
    return workdir / "store"


def test_drift_names_the_drifted_feature_at_alert(demo_store):
    done = run_cli("drift", str(demo_store), "--json", cwd=demo_store.parent)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    stable = {f["feature"]: f for f in report["features"] if f["ring"] == "stable"}
    names = {path.split(".", 1)[1] for path in DRIFT_FEATURES}
    assert set(stable) == names
    assert stable[DRIFTED_FEATURE]["state"] == "alert"
    for name in names - {DRIFTED_FEATURE}:
        assert stable[name]["state"] == "ok", (name, stable[name]["windows"])


def test_report_shows_the_drift_with_resolvable_trace_ids(demo_store):
    out = demo_store.parent / "report.html"
    done = run_cli("report", str(demo_store), "--out", str(out), cwd=demo_store.parent)
    assert done.returncode == 0, done.stderr
    page_text = out.read_text()
    traces = re.findall(r"infertel query --trace ([0-9a-f]{32})", page_text)
    assert traces, "no exemplar trace id next to the drift event"
    query = run_cli("query", str(demo_store), "--trace", traces[0], "--json",
                    cwd=demo_store.parent)
    assert query.returncode == 0, query.stderr
    assert traces[0] in query.stdout
    if CHROMIUM is None:
        pytest.skip("chromium not installed (make test installs it)")
    page = visit(out.as_uri(), {
        "traces": "document.querySelectorAll('#infertel-timeline .scatterlayer .trace')"
                  ".length",
        "events": "document.getElementById('events').innerText",
    })
    assert page.requests == [out.as_uri()]
    assert page.values["traces"] >= 4 + 3  # drift lines + error/latency lines
    assert f"{DRIFTED_FEATURE}: ok -> " in page.values["events"]


def test_monitoring_adds_no_personal_data(demo_store):
    done = run_cli("scan", str(demo_store), cwd=demo_store.parent)
    assert done.returncode == 0, done.stdout + done.stderr
