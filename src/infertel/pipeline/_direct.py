"""Direct encoding (issue 12): a batch's spans and log records go from the privacy boundary's
``ScrubbedCall`` straight to one encoded OTLP request per signal, with no ``ReadableSpan`` or
``LogRecord`` objects in between.

Used for each signal whose exporter is infertel's own (OTLP over HTTP or gRPC, the local store,
the console: ``export._raw.raw_sender``); any other exporter keeps receiving SDK objects. The
encoders write exactly what ``SpanBuilder`` / ``LogBuilder`` put on those objects; a record
holding a value they do not write exactly is built the SDK way and encoded by the export
package's sanitising encoder, in its place in the batch. ``INFERTEL_DIRECT_ENCODING=0`` turns
the whole path off (SDK objects everywhere, SDK metric instruments too).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.metrics import Meter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from infertel._record import ScrubbedCall
from infertel.export._raw import JSON, RawSender, raw_sender
from infertel.export._status import EXPORT_FAILED
from infertel.signals._aggregate import InferenceAggregates
from infertel.signals._aggregate_reader import inference_metrics as aggregated_metrics
from infertel.signals._encode_json import JsonRequests
from infertel.signals._encode_pb import ProtobufRequests
from infertel.signals._encode_wire import Unencodable
from infertel.signals.logs import LogBuilder
from infertel.signals.metrics import InferenceMetrics
from infertel.signals.traces import SpanBuilder

ENV_SWITCH = "INFERTEL_DIRECT_ENCODING"
Encoder = ProtobufRequests | JsonRequests


def direct_encoding_enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "off", "no")


def inference_metrics(provider: MeterProvider, meter: Meter, resource: Resource,
                      scope: InstrumentationScope, prediction_buckets: Sequence[float] | None,
                      on_error: Callable[[BaseException], None]
                      ) -> InferenceAggregates | InferenceMetrics:
    """The inference metrics: pre-aggregated per batch and joined to every reader's
    collection (``signals._aggregate_reader``), or the SDK instruments when switched off or
    when a reader asks for what the aggregates do not reproduce."""
    if not direct_encoding_enabled():
        return InferenceMetrics(meter, prediction_buckets)
    return aggregated_metrics(provider, meter, resource, scope, prediction_buckets, on_error)


class _Signal:
    __slots__ = ("encoder", "sender")

    def __init__(self, encoder: Encoder, sender: RawSender) -> None:
        self.encoder = encoder
        self.sender = sender


class DirectExport:
    """Which signals are encoded directly, with what; makes one :class:`DirectBatch` per
    worker batch."""

    __slots__ = ("log_builder", "logs", "span_builder", "spans")

    def __init__(self, spans: _Signal | None, logs: _Signal | None, span_builder: SpanBuilder,
                 log_builder: LogBuilder) -> None:
        self.spans = spans
        self.logs = logs
        self.span_builder = span_builder
        self.log_builder = log_builder

    @classmethod
    def wire(cls, span_exporter: object, log_exporter: object, resource: Resource,
             scope: InstrumentationScope, span_builder: SpanBuilder,
             log_builder: LogBuilder) -> DirectExport | None:
        """The direct path for the exporters that allow it, or None (switched off, no such
        exporter, or a resource the encoders cannot write exactly)."""
        if not direct_encoding_enabled():
            return None
        senders = {"traces": raw_sender(span_exporter, "traces") if span_exporter else None,
                   "logs": raw_sender(log_exporter, "logs") if log_exporter else None}
        encoders: dict[str, Encoder] = {}
        chosen: dict[str, _Signal | None] = {}
        for signal, sender in senders.items():
            if sender is None:
                chosen[signal] = None
                continue
            try:
                encoder = encoders.get(sender.wire)
                if encoder is None:
                    encoder = encoders[sender.wire] = (
                        JsonRequests(resource, scope) if sender.wire == JSON
                        else ProtobufRequests(resource, scope))
            except Unencodable:
                return None
            chosen[signal] = _Signal(encoder, sender)
        if chosen["traces"] is None and chosen["logs"] is None:
            return None
        return cls(chosen["traces"], chosen["logs"], span_builder, log_builder)

    def batch(self) -> DirectBatch:
        return DirectBatch(self)


class DirectBatch:
    """The encoded records of one worker batch, in order; SDK objects stand in for the few
    records the direct encoders leave to the sanitising encoder."""

    __slots__ = ("_direct", "logs", "spans", "takes_logs", "takes_spans")

    def __init__(self, direct: DirectExport) -> None:
        self._direct = direct
        self.spans: list[Any] = []
        self.logs: list[Any] = []
        self.takes_spans = direct.spans is not None
        self.takes_logs = direct.logs is not None

    def call(self, call: ScrubbedCall) -> None:
        """The span (if sampled) and the ``inference`` log record of one call."""
        direct = self._direct
        spans, logs = direct.spans, direct.logs
        want_span = spans is not None and call.sampled
        span: Any = None
        log: Any = None
        try:
            if logs is not None:
                shared = want_span and spans is not None and spans.encoder is logs.encoder
                span, log = logs.encoder.call(call, shared)
            if want_span and span is None:
                assert spans is not None
                span = spans.encoder.call(call, True)[0]
        except Unencodable:
            span = direct.span_builder.build(call) if want_span else None
            log = direct.log_builder.inference(call) if logs is not None else None
        if span is not None:
            self.spans.append(span)
        if log is not None:
            self.logs.append(log)

    def log(self, record: ReadableLogRecord) -> None:
        """Any other finished log record (user event, deployment, monitor event)."""
        logs = self._direct.logs
        assert logs is not None
        try:
            self.logs.append(logs.encoder.log_record(record))
        except Unencodable:
            self.logs.append(record)

    def export(self, internal_error: Callable[..., None]) -> None:
        """One request per signal, through the signal's raw sender; never raises."""
        for signal, items in ((self._direct.spans, self.spans), (self._direct.logs, self.logs)):
            if signal is None or not items:
                continue
            sender = signal.sender
            try:
                encoded: list[Any] = []
                for item in items:
                    if isinstance(item, (bytes, dict)):
                        encoded.append(item)
                    else:  # an SDK object: the sanitising encoder's answer for it
                        encoded.extend(sender.fallback([item]))
                if not encoded:
                    continue
                if sender.marks_logs:
                    encoded = sender.mark(encoded)
                payload = signal.encoder.request(sender.signal, encoded)  # type: ignore[arg-type]
            except Exception as error:
                internal_error(error, reraise=False)
                sender.lost(EXPORT_FAILED, len(items))
                continue
            sender.send(payload, len(encoded))
