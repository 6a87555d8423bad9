"""``infertel report`` rendered in real headless Chromium: the plots are drawn, the drift event
is listed with its evidence, and the page makes no network request (DevTools protocol)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from infertel.cli import app
from infertel.monitor import Baseline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chromium_cdp import CHROMIUM, visit

WRITER = Path(__file__).resolve().parents[1] / "monitor" / "fleet_writer.py"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed "
                                "(make test installs it)")
PROBES = {
    "svg": "document.querySelectorAll('#infertel-timeline svg.main-svg').length",
    "traces": "document.querySelectorAll('#infertel-timeline .scatterlayer .trace').length",
    "points": "document.querySelectorAll('#infertel-timeline .scatterlayer path.point')"
              ".length",
    "events": "document.getElementById('events') ? "
              "document.getElementById('events').innerText : ''",
    "states": "document.getElementById('states').innerText",
}


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(1)
    n = 20_000
    baseline = Baseline.from_frame(pd.DataFrame({
        "amount": rng.normal(100.0, 40.0, n),
        "age": rng.integers(18, 90, n),
        "country": rng.choice(["de", "fr", "us", "nl"], n, p=[0.4, 0.3, 0.2, 0.1]),
    })).save(root / "baseline.json")
    subprocess.run([sys.executable, str(WRITER), str(root / "store"), str(baseline), "0",
                    "1", "42"], check=True, timeout=90)
    out = root / "report.html"
    result = CliRunner().invoke(app, ["report", str(root / "store"), "--baseline",
                                      str(baseline), "--window", "60s", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 drift event(s)" in result.output
    return out


def test_report_draws_plots_lists_the_event_and_stays_offline(report_file):
    page = visit(report_file.as_uri(), PROBES)
    assert page.requests == [report_file.as_uri()]  # nothing but the file itself
    assert page.values["svg"] >= 1
    assert page.values["traces"] >= 3  # one line per feature
    assert page.values["points"] >= 30  # 10 windows x 3 features, drawn as markers
    assert "amount: ok -> alert" in page.values["events"]
    assert "psi 0." in page.values["events"]
    assert "alert" in page.values["states"]
    assert page.screenshot_png.startswith(b"\x89PNG")
    assert len(page.screenshot_png) > 20_000  # a drawn page, not a blank one


def test_the_request_check_can_fail(tmp_path):
    """The same probe on a page that loads plotly from a CDN reports that request."""
    page_file = tmp_path / "cdn.html"
    page_file.write_text('<html><body><script src="https://cdn.plot.ly/plotly-2.35.2.min.js">'
                         '</script></body></html>')
    page = visit(page_file.as_uri(), {}, settle_s=0.5)
    assert "https://cdn.plot.ly/plotly-2.35.2.min.js" in page.requests


def test_report_errors(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "infertel report:" in result.output
