"""``infertel collector start|status|stop`` and ``infertel doctor`` against a real rotel."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from collector_helpers import Collector, free_port
from typer.testing import CliRunner, Result

from infertel.cli import app
from infertel.cli.collector import EXIT_NOT_RUNNING
from infertel.tools import _collector

pytestmark = pytest.mark.integration

WIDE = {"COLUMNS": "250"}


def _invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env={**WIDE, **(env or {})})


@pytest.fixture
def out(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "cli-collector"
    yield folder
    _collector.stop(folder, timeout=5.0)  # whatever the test did, nothing is left running


def test_start_status_stop_round_trip(out: Path) -> None:
    grpc_port = free_port()
    http_port = free_port(exclude=(grpc_port,))
    ports = ["--grpc-port", str(grpc_port), "--http-port", str(http_port)]

    started = _invoke("collector", "start", "--out", str(out), *ports)
    assert started.exit_code == 0, started.output
    pid = int(re.search(r"pid (\d+)", started.output).group(1))  # type: ignore[union-attr]
    assert f"127.0.0.1:{grpc_port}" in started.output
    assert _collector.port_open("127.0.0.1", http_port)

    status = _invoke("collector", "status", "--out", str(out))
    assert status.exit_code == 0, status.output
    assert "running" in status.output
    assert f"pid {pid}" in status.output
    assert f"127.0.0.1:{http_port}" in status.output

    again = _invoke("collector", "start", "--out", str(out), *ports)
    assert again.exit_code == 1
    assert "already running" in again.output

    stopped = _invoke("collector", "stop", "--out", str(out))
    assert stopped.exit_code == 0, stopped.output
    assert f"pid {pid}" in stopped.output
    assert not _collector.alive(pid)
    assert not _collector.port_open("127.0.0.1", http_port)

    after = _invoke("collector", "status", "--out", str(out))
    assert after.exit_code == EXIT_NOT_RUNNING
    assert "stopped" in after.output
    assert _invoke("collector", "stop", "--out", str(out)).exit_code == 0  # idempotent


def test_start_fails_clearly_when_a_port_is_taken(out: Path) -> None:
    grpc_port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        result = _invoke("collector", "start", "--out", str(out), "--grpc-port",
                         str(grpc_port), "--http-port", str(taken))
    assert result.exit_code == 1
    assert f"127.0.0.1:{taken}" in result.output
    assert "already in use" in result.output
    assert _collector.status(out) is None


def test_start_fails_clearly_when_the_binary_is_missing(out: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-rotel"
    result = _invoke("collector", "start", "--out", str(out), "--grpc-port", str(free_port()),
                     "--http-port", str(free_port()),
                     env={_collector.ENV_BINARY: str(missing)})
    assert result.exit_code == 1
    assert "rotel binary not found" in result.output
    assert str(missing) in result.output

    via_option = _invoke("collector", "start", "--out", str(out), "--binary", str(missing))
    assert via_option.exit_code == 1
    assert "rotel binary not found" in via_option.output


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_doctor_against_a_running_collector(collector: Collector, protocol: str) -> None:
    result = _invoke("doctor", "--collector-out", str(collector.out), "--wait", "15",
                     env={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint(protocol),
                          "OTEL_EXPORTER_OTLP_PROTOCOL": protocol})
    assert result.exit_code == 0, result.output
    for check in ("configuration", "endpoint reachable", "TLS and headers", "privacy policy",
                  "HMAC key", "health span exported", "arrived at collector"):
        assert check in result.output
    assert "all checks passed" in result.output
    trace_id = re.search(r"trace ([0-9a-f]{32})", result.output).group(1)  # type: ignore[union-attr]
    assert trace_id in collector.trace_ids()


def test_doctor_fails_against_an_unreachable_endpoint() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = _invoke("doctor", "--endpoint", endpoint, "--timeout", "1")
    assert result.exit_code == 1, result.output
    assert "endpoint reachable" in result.output
    assert "fail" in result.output
