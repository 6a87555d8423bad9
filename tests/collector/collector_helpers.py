"""Helpers for tests against a real collector (rotel with infertel's processors)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infertel.tools import _collector
from infertel.tools._store import iter_documents

START_TIMEOUT_S = 30.0
ARRIVAL_TIMEOUT_S = 15.0


def free_port(exclude: tuple[int, ...] = ()) -> int:
    """A port nothing listens on now (the kernel's pick; a small race is accepted)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in exclude:
            return port


@dataclass
class Collector:
    """A running rotel with infertel's processors, writing to ``out``."""

    out: Path
    grpc_port: int
    http_port: int
    state: _collector.CollectorState | None = None
    policy_file: Path | None = None

    def endpoint(self, protocol: str) -> str:
        port = self.grpc_port if protocol == "grpc" else self.http_port
        return f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self.state = _collector.start(self.out, grpc_port=self.grpc_port,
                                      http_port=self.http_port, timeout=START_TIMEOUT_S,
                                      policy_file=self.policy_file)

    def stop(self) -> None:
        _collector.stop(self.out, timeout=5.0)
        self.state = None

    def documents(self, signal: str) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [d.data for d in iter_documents(self.out) if d.signal == signal]

    def trace_ids(self) -> set[str]:
        return {span["traceId"] for doc in self.documents("traces")
                for block in doc["resourceSpans"] for scope in block.get("scopeSpans", [])
                for span in scope.get("spans", [])}


def wait_for(condition: Callable[[], bool], timeout: float = ARRIVAL_TIMEOUT_S,
             what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.1)


def dump(document: Any) -> str:
    """Compact JSON of a document, for assertion messages."""
    return json.dumps(document)[:2000]
