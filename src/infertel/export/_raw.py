"""Senders for export requests the worker encoded itself (issue 12).

The worker encodes its inference spans and log records straight from the privacy boundary's
output, one OTLP request per batch (``signals._encode_pb`` / ``_encode_json``), so no SDK span
or log object exists to hand to an exporter. A raw sender takes that request to the same place
infertel's own exporter for the signal would: the collector through the signal's
:class:`~infertel.export._delivery.Delivery` (same endpoint, headers, compression, TLS and
timeout, same spool and backoff; protobuf bytes), the local store's current file (one OTLP/JSON
line) or standard output (the console exporter's line).

The guard wrappers' contract holds: a sender never raises, and every record it was given is
accounted for in the signal's :class:`~infertel.export._status.ExportStatus` (exported,
spooled, or dropped with a reason). Exporters that are not infertel's (in-memory ones in tests,
a user's own) have no raw sender: :func:`raw_sender` returns None and the worker keeps building
SDK objects for them.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, Final

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.trace import ReadableSpan

from infertel.export._encode import LOG_RECORD_UID, encode_log_batch, encode_span_batch
from infertel.export._exporters import (
    ConsoleSink,
    EncodingLogExporter,
    EncodingSpanExporter,
    OtlpSink,
)
from infertel.export._local import LocalSink
from infertel.export._otlp_json import to_json
from infertel.export._status import ENCODE_FAILED, EXPORT_FAILED, ExportStatus

_log = logging.getLogger("infertel")

PROTOBUF: Final = "protobuf"
JSON: Final = "json"


class RawSender:
    """One signal's way out for a request encoded by the worker."""

    wire: str = PROTOBUF
    # Log records sent through a spool carry a log.record.uid (see ``_exporters.OtlpSink``).
    marks_logs: bool = False

    def __init__(self, signal: str, status: ExportStatus) -> None:
        self.signal = signal
        self.status = status
        self._raised = 0

    def send(self, payload: Any, records: int) -> bool:
        """Deliver ``records`` records encoded in ``payload``; never raises."""
        try:
            return self._send(payload, records)
        except Exception as error:  # a sink bug: counted like the guard wrappers count it
            self._raised += 1
            if self._raised == 1 or self._raised % 1000 == 0:
                _log.warning("infertel: %s export raised %s (%d time(s)); the batch is counted "
                             "as export_failed", self.signal, type(error).__name__, self._raised)
            self._count(type(error).__name__, EXPORT_FAILED, records)
            return False

    def _send(self, payload: Any, records: int) -> bool:
        raise NotImplementedError

    def lost(self, reason: str, records: int) -> None:
        """Count ``records`` lost before sending (``encode_failed``, ``export_failed``)."""
        self._count(None, reason, records)

    def _count(self, error: str | None, reason: str, records: int) -> None:
        try:
            if error is not None:
                self.status[self.signal].failed(error)
            self.status.loss(self.signal, reason, records)
        except Exception:  # accounting must not raise either
            return

    def fallback(self, items: Sequence[ReadableSpan] | Sequence[ReadableLogRecord]) -> list[Any]:
        """Records the worker could not encode itself (a value outside what its encoder
        writes exactly), encoded by the exporters' sanitising encoder instead: one entry per
        record that survived, in this sender's wire form (``Span``/``LogRecord`` bytes or
        JSON objects). What even that encoder cannot carry is counted ``encode_failed``."""
        try:
            if self.signal == "traces":
                encoded = encode_span_batch(items)  # type: ignore[arg-type]
            else:
                encoded = encode_log_batch(items)  # type: ignore[arg-type]
        except Exception:
            self.lost(ENCODE_FAILED, len(items))
            return []
        self.lost(ENCODE_FAILED, encoded.failed)
        message = encoded.message
        if message is None:
            return []
        if self.wire == JSON:
            tree = json.loads(to_json(message))
            noun = "Spans" if self.signal == "traces" else "Logs"
            leaf = "spans" if self.signal == "traces" else "logRecords"
            return [record for block in tree.get(f"resource{noun}", [])
                    for scoped in block.get(f"scope{noun}", []) for record in scoped.get(leaf, [])]
        blocks = message.resource_spans if self.signal == "traces" else message.resource_logs
        out: list[Any] = []
        for block in blocks:
            for scoped in (block.scope_spans if self.signal == "traces" else block.scope_logs):
                records = scoped.spans if self.signal == "traces" else scoped.log_records
                out.extend(record.SerializeToString() for record in records)
        return out

    def mark(self, records: list[bytes]) -> list[bytes]:
        """Encoded log records with a ``log.record.uid`` each (the same value in every copy of
        the batch, so readers drop a replayed duplicate): appended as one more attribute."""
        batch = os.urandom(12).hex()
        return [record + _uid_attribute(f"{batch}-{index:x}")
                for index, record in enumerate(records)]


class _Otlp(RawSender):
    def __init__(self, signal: str, status: ExportStatus, sink: OtlpSink) -> None:
        super().__init__(signal, status)
        self._delivery = sink.delivery
        self.marks_logs = signal == "logs" and bool(getattr(sink, "_mark", False))

    def _send(self, payload: bytes, records: int) -> bool:
        return self._delivery.deliver(payload, records)


class _Lines(RawSender):
    """The local store's file or standard output: one OTLP/JSON line per batch."""

    wire = JSON

    def __init__(self, signal: str, status: ExportStatus, sink: LocalSink | ConsoleSink) -> None:
        super().__init__(signal, status)
        self._sink = sink

    def _send(self, payload: str, records: int) -> bool:
        sink = self._sink
        try:
            if isinstance(sink, LocalSink):
                sink._out.write(payload)
            else:
                with sink._lock:
                    sys.stdout.write(payload + "\n")
                    sys.stdout.flush()
        except Exception as error:  # disk full, closed stdout: counted, never raised
            self.status[self.signal].failed(type(error).__name__)
            self.status.loss(self.signal, EXPORT_FAILED, records)
            return False
        self.status[self.signal].exported(records)
        return True


def raw_sender(exporter: object, signal: str) -> RawSender | None:
    """The raw sender behind ``exporter`` (as the pipeline wired it: a guard wrapper around
    infertel's encoding exporter), or None when it is some other exporter."""
    inner = getattr(exporter, "inner", exporter)
    if not isinstance(inner, (EncodingSpanExporter, EncodingLogExporter)):
        return None
    sink, status = inner.sink, inner.status
    if signal not in status.signals:
        return None
    if isinstance(sink, OtlpSink):
        return _Otlp(signal, status, sink)
    if isinstance(sink, (LocalSink, ConsoleSink)):
        return _Lines(signal, status, sink)
    return None


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _uid_attribute(uid: str) -> bytes:
    """``LogRecord.attributes`` (6) += KeyValue(log.record.uid, string_value=uid)."""
    value = _field(1, uid.encode("ascii"))
    return _field(6, _field(1, LOG_RECORD_UID.encode("ascii")) + _field(2, value))
