"""The generated rules in a real Prometheus server scraping a real infertel service.

Time runs at 1/60 (``infertel alerts --time-scale``): the 5m window is 5 s, the 1h window 60 s,
``for: 10m`` is 10 s, so the 60-second blip of the real world is 1 s here. The service
(alert_service.py) exposes the SDK's metrics with opentelemetry-exporter-prometheus; Prometheus
(Debian's package) runs on loopback with a temporary data folder, 1 s scrape and evaluation.

Pages are what must stay silent on a blip. Ticket alerts are not asserted here: their 1d and 3d
windows (24 and 72 minutes at this scale) cannot fill in a test, and over a short history a
blip is a large share of the budget (promtool's unit tests cover them over full histories).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from infertel.cli._alert_rules import AlertSettings
from infertel.cli.alerts import RULES_FILE, write_alerts

SERVICE = Path(__file__).with_name("alert_service.py")
SCALE = 1 / 60
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("prometheus") is None,
                       reason="prometheus (Debian package) not installed"),
    pytest.mark.timeout(300),
]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


class Stack:
    def __init__(self, root: Path) -> None:
        self.mode = root / "mode"
        self.mode.write_text("0")
        self.app_port, self.prom_port = _free_port(), _free_port()
        write_alerts(root, AlertSettings(time_scale=SCALE))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(root / RULES_FILE)],
            "scrape_configs": [{"job_name": "infertel", "static_configs": [
                {"targets": [f"127.0.0.1:{self.app_port}"]}]}],
        }
        (root / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.logs = [(root / "service.log").open("wb"), (root / "prometheus.log").open("wb")]
        self.service = subprocess.Popen(
            [sys.executable, str(SERVICE), str(self.app_port), str(self.mode)],
            stdout=subprocess.DEVNULL, stderr=self.logs[0])
        self.prometheus = subprocess.Popen(
            ["prometheus", f"--config.file={root / 'prometheus.yml'}",
             f"--storage.tsdb.path={root / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.prom_port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=self.logs[1])
        self.api = f"http://127.0.0.1:{self.prom_port}/api/v1"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                targets = _get(f"{self.api}/targets")["data"]["activeTargets"]
                if targets and targets[0]["health"] == "up":
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError("Prometheus did not scrape the service in time")

    def firing(self, severity: str = "page") -> set[str]:
        alerts = _get(f"{self.api}/alerts")["data"]["alerts"]
        return {a["labels"]["alertname"] for a in alerts
                if a["state"] == "firing" and a["labels"].get("severity") == severity}

    def close(self) -> None:
        for process in (self.service, self.prometheus):
            process.terminate()
        for process in (self.service, self.prometheus):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for log in self.logs:
            log.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    try:
        running.wait_ready()
        yield running
    finally:
        running.close()


def test_alert_fires_on_a_regression_and_stays_silent_on_a_60s_blip(stack: Stack) -> None:
    time.sleep(40)  # clean history: longer than the 30m window (30 s) the page looks at
    assert stack.firing() == set()
    # The blip: every canary call fails for 1 s (60 s of real time at this scale).
    stack.mode.write_text("1.0")
    time.sleep(1.0)
    stack.mode.write_text("0")
    seen: set[str] = set()
    deadline = time.monotonic() + 30  # three times the canary alert's `for`
    while time.monotonic() < deadline:
        seen |= stack.firing()
        time.sleep(0.5)
    assert seen == set(), f"a 60 s blip fired {seen}"
    # The regression: 60% of canary calls fail from now on (30% of all traffic).
    stack.mode.write_text("0.6")
    started = time.monotonic()
    fired_at: dict[str, float] = {}
    while time.monotonic() - started < 120 and len(fired_at) < 2:
        for name in stack.firing():
            fired_at.setdefault(name, time.monotonic() - started)
        time.sleep(0.5)
    assert "InfertelCanaryErrorRatio" in fired_at, fired_at
    assert "InfertelErrorBudgetBurnFast" in fired_at, fired_at
    # The canary alert waits its `for: 10m` (10 s here) after the 5m (5 s) window fills.
    assert fired_at["InfertelCanaryErrorRatio"] >= 10
    assert stack.service.poll() is None  # the service kept serving throughout
