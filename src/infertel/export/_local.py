"""The embedded local store: OTLP-JSON lines under ``<dir>/{traces,logs,metrics}/``.

One export request per line, the layout an OpenTelemetry Collector file exporter writes, so the
CLI reads either. Each process writes its own files (pid in the name: no interleaving between
workers of one service) and starts a new file once the current one passes ``max_bytes``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import IO

from infertel.export._encode import Encoded
from infertel.export._otlp_json import to_json
from infertel.export._status import EXPORT_FAILED, ExportStatus

_log = logging.getLogger("infertel")

SIGNALS = ("traces", "logs", "metrics")


class RotatingJsonLines:
    """Appends one JSON document per line to ``<dir>/<signal>/<signal>-<time>-<pid>.jsonl``."""

    def __init__(self, directory: Path, signal: str, max_bytes: int) -> None:
        self._directory = Path(directory) / signal
        self._signal = signal
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._pid = 0
        self._sequence = 0

    def write(self, line: str) -> None:
        with self._lock:
            handle = self._current()
            handle.write(line)
            handle.write("\n")
            handle.flush()  # a crash loses at most the line being written
            if handle.tell() >= self._max_bytes:
                handle.close()
                self._file = None

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _current(self) -> IO[str]:
        if self._file is not None and self._pid == os.getpid():
            return self._file
        # First write, rotation, or a forked child: never append to the parent's file.
        self._pid = os.getpid()
        self._sequence += 1
        self._directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"{self._signal}-{stamp}-{self._pid}-{self._sequence}.jsonl"
        self._file = (self._directory / name).open("a", encoding="utf-8")
        return self._file


class LocalSink:
    """One signal's folder of the local store; takes requests already encoded by
    ``_exporters`` (so one bad record costs itself, as on the OTLP path)."""

    def __init__(self, directory: Path, signal: str, max_bytes: int,
                 status: ExportStatus) -> None:
        self.signal = signal
        self.status = status
        self._out = RotatingJsonLines(directory, signal, max_bytes)

    def put(self, encoded: Encoded) -> bool:
        assert encoded.message is not None
        try:
            self._out.write(to_json(encoded.message))
        except Exception as error:  # disk full, folder removed: counted, never raised
            self.status[self.signal].failed(type(error).__name__)
            self.status.loss(self.signal, EXPORT_FAILED, encoded.records)
            _log.warning("infertel: writing %s to the local store failed (%s)", self.signal,
                         type(error).__name__)
            return False
        self.status[self.signal].exported(encoded.records)
        return True

    def flush(self, timeout: float) -> bool:
        return True

    def close(self) -> None:
        self._out.close()
