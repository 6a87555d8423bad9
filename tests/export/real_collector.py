"""The real local collector (rotel with infertel's processors) for fault tests: start, SIGKILL,
start again on the same ports, and read what it wrote (duplicates kept, to count them)."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infertel.tools import _collector

START_TIMEOUT_S = 30.0


def free_port(exclude: tuple[int, ...] = ()) -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in exclude:
            return port


class RealCollector:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.grpc_port = free_port()
        self.http_port = free_port(exclude=(self.grpc_port,))
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.grpc_url = f"http://127.0.0.1:{self.grpc_port}"
        self.pid: int | None = None

    def start(self) -> None:
        state = _collector.start(self.out, grpc_port=self.grpc_port, http_port=self.http_port,
                                 timeout=START_TIMEOUT_S)
        self.pid = state.pid

    def kill(self) -> None:
        """SIGKILL (a crash: no flush), and wait until the port is closed."""
        assert self.pid is not None
        os.kill(self.pid, signal.SIGKILL)
        wait_for(lambda: not _collector.alive(self.pid or 0), 5.0, "rotel to die")
        wait_for(lambda: not _collector.port_open("127.0.0.1", self.http_port), 5.0,
                 "the port to close")
        _collector.stop(self.out, timeout=1.0)  # clears the state file
        self.pid = None

    def stop(self) -> None:
        _collector.stop(self.out, timeout=5.0)
        self.pid = None

    def _records(self, signal_name: str, block: str, scope: str, item: str) -> list[Any]:
        folder = self.out / signal_name
        found: list[Any] = []
        for path in sorted(folder.glob("*.jsonl")) if folder.exists() else []:
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    document = json.loads(line)
                except ValueError:  # the line being written
                    continue
                for resource in document.get(block, []):
                    for scoped in resource.get(scope, []):
                        found += scoped.get(item, [])
        return found

    def span_ids(self) -> list[str]:
        return [s["spanId"] for s in self._records("traces", "resourceSpans", "scopeSpans",
                                                    "spans")]

    def log_records(self) -> list[dict[str, Any]]:
        return self._records("logs", "resourceLogs", "scopeLogs", "logRecords")


def attribute(record: dict[str, Any], key: str) -> Any:
    for item in record.get("attributes", []):
        if item["key"] == key:
            return next(iter(item["value"].values()), None)
    return None


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)
