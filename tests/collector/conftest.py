"""Fixtures for tests against a real collector: rotel, started per test on free ports.

Every wait is bounded, and the collector is always stopped (SIGTERM, then SIGKILL), even when
the test fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from collector_helpers import Collector, free_port

from infertel.tools import _collector


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    grpc_port = free_port()
    running = Collector(tmp_path / "collector", grpc_port, free_port(exclude=(grpc_port,)))
    running.start()
    try:
        yield running
    finally:
        running.stop()
        leftover = _collector.read_state(running.out)
        assert leftover is None, "the collector's state file outlived stop()"

