"""``infertel drift`` over real stores: four processes holding a quarter of a stream each give
exactly the scores of one process holding all of it; the drifted feature alerts, the others
stay below warn; nothing personal comes out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from infertel.cli import app
from infertel.monitor import Baseline

WRITER = Path(__file__).resolve().parents[1] / "monitor" / "fleet_writer.py"


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory) -> Path:
    rng = np.random.default_rng(1)
    n = 20_000
    frame = pd.DataFrame({
        "amount": rng.normal(100.0, 40.0, n),
        "age": rng.integers(18, 90, n),
        "country": rng.choice(["de", "fr", "us", "nl"], n, p=[0.4, 0.3, 0.2, 0.1]),
    })
    return Baseline.from_frame(frame).save(tmp_path_factory.mktemp("b") / "baseline.json")


def write_store(store: Path, baseline: Path, workers: int) -> None:
    processes = [subprocess.Popen([sys.executable, str(WRITER), str(store), str(baseline),
                                   str(i), str(workers), "42"])
                 for i in range(workers)]
    for process in processes:
        assert process.wait(timeout=90) == 0


def drift_json(store: Path, baseline: Path, *extra: str) -> dict:
    result = CliRunner().invoke(app, ["drift", str(store), "--baseline", str(baseline),
                                      "--window", "60s", "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def stores(baseline_file, tmp_path_factory) -> tuple[Path, Path]:
    one, four = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("four")
    write_store(one, baseline_file, 1)
    write_store(four, baseline_file, 4)
    return one, four


def test_four_processes_equal_one(stores, baseline_file):
    one, four = stores
    single, fleet = drift_json(one, baseline_file), drift_json(four, baseline_file)
    assert single["series"] == 3
    assert fleet["series"] == 12  # 3 features x 4 processes
    assert fleet["features"] == single["features"]  # totals, every window, every score
    assert fleet["state_changes"] == single["state_changes"]
    assert len(single["features"][0]["windows"]) == 10


def test_drifted_feature_alerts_others_stay_below_warn(stores, baseline_file):
    _, four = stores
    report = drift_json(four, baseline_file)
    by_feature = {f["feature"]: f for f in report["features"]}
    assert by_feature["amount"]["state"] == "alert"
    assert by_feature["age"]["max_window_level"] == "ok"
    assert by_feature["country"]["max_window_level"] == "ok"
    first_alert = next(w for w in by_feature["amount"]["windows"] if w["state"] == "alert")
    assert by_feature["amount"]["windows"].index(first_alert) <= 5 + 7
    changes = [(c["feature"], c["state"]) for c in report["state_changes"]]
    assert changes == [("amount", "alert")]


def test_by_version_and_ring_merge_groups(stores, baseline_file):
    _, four = stores
    by_version = drift_json(four, baseline_file, "--by", "version")
    assert {f["ring"] for f in by_version["features"]} == {"*"}
    by_ring = drift_json(four, baseline_file, "--by", "ring")
    assert {f["version"] for f in by_ring["features"]} == {"*"}


def test_errors(tmp_path, baseline_file, stores):
    one, _ = stores
    result = CliRunner().invoke(app, ["drift", str(tmp_path / "none")])
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["drift", str(one)])  # no stored baseline event
    assert result.exit_code == 2
    assert "pass --baseline" in result.output
    result = CliRunner().invoke(app, ["drift", str(one), "--baseline", str(baseline_file),
                                      "--by", "segment"])
    assert result.exit_code == 2
