"""Drift monitoring wired into one Telemetry (``configure(drift=DriftConfig(...))``).

Three hooks, each where the design puts it:

* hot path: :class:`~infertel.hotpath._drift.DriftCapture` reads the drift feature paths
  (``Telemetry.drift_capture``; scalars only, no copy);
* privacy boundary: :meth:`DriftWiring.bin` (``Boundary.binner``) turns the raw values into
  bin indices and (feature, kind) violations; nothing raw goes further;
* worker, after signals: :meth:`DriftWiring.observe` (a ``CallProcessor`` observer) counts the
  bins per (model, version, ring, feature, window), closes windows and returns the
  ``ml.drift.detected`` log records; the metric exporter is wrapped by
  :class:`~infertel.monitor._otel.DriftMetricExporter` for the histograms and gauges.

Every method that runs on the worker swallows its own errors into ``internal_error``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics.export import MetricExporter

from infertel import conventions as c
from infertel._provenance import ModelInfo
from infertel._record import InferenceRecord, ScrubbedCall
from infertel.hotpath._drift import DriftCapture
from infertel.monitor import DriftConfig, DriftMonitor
from infertel.monitor._config import settings_event
from infertel.monitor._monitor import Group
from infertel.monitor._otel import DriftMetricExporter
from infertel.signals.logs import LogBuilder


class DriftFacts:
    """What crosses the boundary for one call: its group, bin indices and violations."""

    __slots__ = ("bins", "group", "schema_hash", "violations")

    def __init__(self, group: Group, bins: list[int], violations: list[tuple[str, Any]],
                 schema_hash: str) -> None:
        self.group = group
        self.bins = bins
        self.violations = violations
        self.schema_hash = schema_hash


class DriftWiring:
    def __init__(self, config: DriftConfig, model: ModelInfo | None, ring: str,
                 internal_error: Callable[..., None]) -> None:
        self.config = config
        self.monitor = DriftMonitor(config)
        self.capture = DriftCapture(tuple(config.features))
        self.logs: LogBuilder | None = None  # set once the Telemetry has built its LogBuilder
        self._model = model
        self._ring = ring
        self._schema_hash = config.baseline.schema_hash
        self._internal_error = internal_error
        # Told of every state change in the same batch, before later observers (the rollout
        # guard's DriftAlerts): (ring, feature, level, facts) with numbers and labels only.
        self.listeners: list[Callable[[str, str, str, dict[str, Any]], object]] = []

    # ------------------------------------------------------------ inside the boundary
    def bin(self, record: InferenceRecord) -> DriftFacts | None:
        snapshot = record.drift
        if snapshot is None:
            return None
        spec = record.spec
        model = spec.model or self._model
        group = (model.name if model else "", model.version if model else "",
                 spec.ring or self._ring)
        bins, violations = self.monitor.binner.bin(snapshot)
        return DriftFacts(group, bins, violations, self._schema_hash)

    # ------------------------------------------------------------ worker, after signals
    def observe(self, calls: list[ScrubbedCall]) -> list[ReadableLogRecord]:
        monitor = self.monitor
        for call in calls:
            facts = call.drift
            if not isinstance(facts, DriftFacts):
                continue
            trace = f"{call.trace_id:032x}" if call.sampled else None
            if monitor.add(facts.group, facts.bins, call.start_ns, trace) and facts.violations:
                monitor.count_violations(facts.group, facts.violations)
        now = time.time_ns()
        result = monitor.tick(now)
        for change in result.events:
            self._tell(change.group.get("ring", ""), change.feature, change.state, {
                "window_start_ns": change.window_start_ns,
                "window_end_ns": change.window_end_ns, "scores": dict(change.scores)})
        logs = self.logs
        if logs is None:
            return []
        return [logs.event(c.EVENT_DRIFT_DETECTED, change.body(), {
            c.MODEL_NAME: change.group.get("model", ""),
            c.MODEL_VERSION: change.group.get("version", ""),
            c.DEPLOYMENT_RING: change.group.get("ring", ""),
            c.FEATURE_NAME: change.feature,
        }, now, severity="warn" if change.state != "ok" else "info")
            for change in result.events]

    def _tell(self, ring: str, feature: str, level: str, facts: dict[str, Any]) -> None:
        for listener in self.listeners:
            try:
                listener(ring, feature, level, facts)
            except Exception as exc:  # a listener never breaks the worker
                self._internal_error(exc, reraise=False)

    # ------------------------------------------------------------ configure() time
    def configure_events(self, time_ns: int) -> list[Callable[[], ReadableLogRecord]]:
        """Deferred builders (run on the worker) of the configure-time events: the baseline
        and settings in use, and ``ml.schema.changed`` when the monitored features and the
        baseline's schema differ."""
        builders: list[Callable[[], ReadableLogRecord]] = []
        logs = self.logs
        if logs is None:
            return builders
        model = self._model
        attributes = {c.MODEL_NAME: model.name, c.MODEL_VERSION: model.version} if model else {}
        body = settings_event(self.config)
        builders.append(lambda: logs.event(c.EVENT_DRIFT_BASELINE, body, attributes, time_ns))
        diff = self.config.schema_diff()
        if any(diff.values()):
            changed = {"baseline_schema_hash": self._schema_hash, **diff}
            builders.append(lambda: logs.event(c.EVENT_SCHEMA_CHANGED, changed, attributes,
                                               time_ns, severity="warn"))
        return builders

    def metric_exporter(self, inner: MetricExporter) -> MetricExporter:
        return DriftMetricExporter(inner, self.monitor)
