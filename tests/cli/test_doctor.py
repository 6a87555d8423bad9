"""``infertel doctor`` as a user runs it: bad input is a failed check (never a traceback), every
URL it prints is masked, and its health span goes only where ``--send-to`` says."""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

import infertel
from infertel.tools._urls import endpoint_problem, mask_urls

PASSWORD = "Sup3rS3cretPw"
TOKEN = "tok-9f8e7d6c5b4a"
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if not k.startswith(("OTEL_", "INFERTEL_"))} | {"COLUMNS": "80"}


def doctor(*args: str, cwd: Path, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command in a fresh process, output through pipes."""
    return subprocess.run([sys.executable, "-m", "infertel", "doctor", *args], cwd=cwd,
                          env={**CLEAN_ENV, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def checks(done: subprocess.CompletedProcess[str]) -> dict[str, dict[str, str]]:
    report = json.loads(done.stdout)
    return {check["name"]: check for check in report["checks"]}


@pytest.mark.parametrize("endpoint", ["garbage", "http://:4318", "http://127.0.0.1:99999",
                                      "ftp://collector:21"])
def test_a_bad_endpoint_is_a_failed_check_not_a_traceback(tmp_path: Path, endpoint: str) -> None:
    done = doctor("--json", cwd=tmp_path, env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    # Caught by the configuration itself (ConfigurationError) or by doctor's own URL check:
    # either way one failed check that names the variable.
    failed = [c for c in checks(done).values() if c["status"] == "fail"
              and "OTEL_EXPORTER_OTLP_ENDPOINT" in c["detail"]]
    assert failed, done.stdout
    assert {c["name"] for c in failed} <= {"configuration", "endpoint"}
    text = doctor(cwd=tmp_path, env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
    assert text.returncode == 1
    assert "Traceback" not in text.stdout + text.stderr
    assert "check(s) failed" in text.stdout


def test_credentials_in_the_endpoint_are_masked_everywhere(tmp_path: Path) -> None:
    endpoint = f"http://admin:{PASSWORD}@127.0.0.1:{free_port()}/?api_key={TOKEN}"
    for args in ((), ("--json",), ("--send-to", "otlp", "--timeout", "1")):
        done = doctor(*args, cwd=tmp_path, env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
        assert done.returncode == 1  # nothing listens there
        output = done.stdout + done.stderr
        assert PASSWORD not in output
        assert TOKEN not in output
        assert "admin" not in output
        assert "***" in output
        assert "Traceback" not in output


def test_by_default_nothing_is_sent_and_nothing_is_written(tmp_path: Path) -> None:
    done = doctor("--json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    found = checks(done)
    assert found["health span exported"]["status"] == "skip"
    assert "not sent" in found["health span exported"]["detail"]
    assert list(tmp_path.iterdir()) == []  # no infertel-data/ appeared in the working folder


def test_send_to_a_folder_writes_there_and_only_there(tmp_path: Path) -> None:
    target = tmp_path / "doctor-store"
    done = doctor("--send-to", str(target), "--json", cwd=tmp_path,
                  env={"INFERTEL_LOCAL_DIR": str(tmp_path / "service-store")})
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["checked_at"].endswith("Z")
    trace_id = report["trace_id"]
    assert isinstance(trace_id, str)
    assert len(trace_id) == 32
    spans = [line for path in (target / "traces").glob("*.jsonl")
             for line in path.read_text().splitlines()]
    assert any(trace_id in line and "infertel.doctor.health" in line for line in spans)
    assert not (tmp_path / "service-store").exists()  # the service's own store is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doctor-store"]
    # Through a pipe, in a table: the trace id is whole, not folded or cut at 80 columns.
    table = doctor("--send-to", str(target), cwd=tmp_path)
    assert table.returncode == 0, table.stdout + table.stderr
    assert re.search(r"trace [0-9a-f]{32}\b", table.stdout), table.stdout
    health = checks(done)["telemetry health"]
    if hasattr(infertel, "health"):
        assert health["status"] in ("ok", "warn")
        assert "queue" in health["detail"]
    else:
        assert health["status"] == "skip"


class _Receiver(http.server.BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[str]]]:
    """A minimal OTLP/HTTP endpoint on 127.0.0.1 that accepts every export."""
    _Receiver.paths = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Receiver.paths
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_send_to_an_endpoint_sends_there_with_the_password_masked(
        tmp_path: Path, receiver: tuple[str, list[str]]) -> None:
    base, paths = receiver
    with_password = base.replace("http://", f"http://admin:{PASSWORD}@")
    done = doctor("--send-to", with_password, "--json", cwd=tmp_path)
    output = done.stdout + done.stderr
    assert PASSWORD not in output
    assert done.returncode == 0, output
    assert "/v1/traces" in paths
    assert checks(done)["health span exported"]["status"] == "ok"
    assert list(tmp_path.iterdir()) == []


def test_bad_send_to_and_protocol_are_clear_errors(tmp_path: Path) -> None:
    done = doctor("--send-to", "http://:99999", "--json", cwd=tmp_path)
    assert done.returncode == 1
    assert checks(done)["health span exported"]["status"] == "fail"
    assert "Traceback" not in done.stdout + done.stderr
    usage = doctor("--protocol", "carrier-pigeon", cwd=tmp_path)
    assert usage.returncode == 2
    assert "Traceback" not in usage.stdout + usage.stderr


@pytest.mark.parametrize(("text", "secrets"), [
    (f"cannot reach http://user:{PASSWORD}@host:4318/v1/traces?token={TOKEN}", (PASSWORD, TOKEN)),
    (f"https://{TOKEN}@collector.example.com", (TOKEN,)),
    (f"grpc target admin:{PASSWORD}@collector:4317 refused", (PASSWORD,)),
    (f"http://h:4318/v1/traces#access_token={TOKEN}", (TOKEN,)),
])
def test_mask_urls(text: str, secrets: tuple[str, ...]) -> None:
    masked = mask_urls(text)
    for secret in secrets:
        assert secret not in masked
    assert "***" in masked
    assert mask_urls("mail jane@example.com, plain text") == "mail jane@example.com, plain text"


@pytest.mark.parametrize(("endpoint", "protocol", "ok"), [
    ("http://127.0.0.1:4318", "http/protobuf", True),
    ("https://collector.example.com/otlp", "http/protobuf", True),
    ("collector:4317", "grpc", True),
    ("garbage", "http/protobuf", False),
    ("garbage", "grpc", False),
    ("http://h:0", "http/protobuf", False),
    ("http://h:port", "http/protobuf", False),
    ("", "grpc", False),
])
def test_endpoint_problem(endpoint: str, protocol: str, ok: bool) -> None:
    assert (endpoint_problem(endpoint, protocol) is None) is ok
