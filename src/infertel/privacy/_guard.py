"""The ExitGuard: the privacy boundary for everything that does not come through the hot path.

User spans (nested OpenTelemetry instrumentation inside predict()), user metric instruments,
the resource and the instrumentation scope of everything. Spans are guarded before they fan
out: ``GuardedTracerProvider`` wraps every span processor added to it, so a processor someone
adds later (Traceloop, Logfire, a BatchSpanProcessor) receives the scrubbed span at ``on_end``.
Scrubbed: span names, attributes, events with their names, links, status descriptions, scope
name/version/attributes, W3C tracestate; metric names, descriptions, units, data-point and
exemplar attributes. Fail closed: a span whose scrubbing fails leaves with markers and only
shape-valid attributes, and ``infertel.redaction.failures`` counts it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, Status, TraceState

from infertel import conventions as c
from infertel.privacy._keys import fits_shape
from infertel.privacy._scrubber import REDACTION_FAILED, Scrubber, ScrubContext


class ExitGuard:
    """Scrubs OpenTelemetry objects with one scrubber (the same policy as the boundary)."""

    __slots__ = ("_scopes", "enabled", "scrubber")

    def __init__(self, scrubber: Scrubber, *, enabled: bool = True) -> None:
        self.scrubber = scrubber
        # Off only with PrivacyPolicy(redaction=False), to prove the scanner finds leaks.
        self.enabled = enabled
        self._scopes: dict[Any, InstrumentationScope | None] = {}

    def _context(self) -> ScrubContext:
        return ScrubContext(self.scrubber.policy.redaction_timeout_s)

    # ------------------------------------------------------------------ spans
    def span(self, span: ReadableSpan) -> ReadableSpan:
        if not self.enabled:
            return span
        scrubber = self.scrubber
        context = self._context()
        try:
            name = scrubber.text(span.name, context)
            attributes = scrubber.attributes(span.attributes, context)
            events = [Event(scrubber.text(e.name, context),
                            scrubber.attributes(e.attributes, context), e.timestamp)
                      for e in span.events]
            links = [Link(self._span_context(link.context, context) or link.context,
                          scrubber.attributes(link.attributes, context)) for link in span.links]
            status = span.status
            if status.description:
                status = Status(status.status_code, scrubber.text(status.description, context))
            span_context = self._span_context(span.context, context)
            parent = self._span_context(span.parent, context)
        except Exception:
            scrubber.count_failure()
            name = REDACTION_FAILED
            attributes = _shape_valid(span.attributes)
            events, links = [], []
            status = Status(span.status.status_code,
                            REDACTION_FAILED if span.status.description else None)
            span_context = _without_state(span.context)
            parent = _without_state(span.parent)
        return ReadableSpan(
            name=name, context=span_context, parent=parent,
            resource=span.resource, attributes=attributes, events=events, links=links,
            kind=span.kind, status=status, start_time=span.start_time, end_time=span.end_time,
            instrumentation_scope=self.scope(span.instrumentation_scope),
        )

    def _span_context(self, span_context: SpanContext | None,
                      context: ScrubContext) -> SpanContext | None:
        if span_context is None or not span_context.trace_state:
            return span_context
        kept = [(k, v) for k, v in span_context.trace_state.items()
                if self.scrubber.key(k, context) == k and self.scrubber.text(v, context) == v]
        if len(kept) == len(span_context.trace_state):
            return span_context
        return SpanContext(span_context.trace_id, span_context.span_id, span_context.is_remote,
                           span_context.trace_flags, TraceState(kept))

    def scope(self, scope: InstrumentationScope | None) -> InstrumentationScope | None:
        """Scope name, version and attributes scrubbed (once per distinct scope)."""
        if scope is None or not self.enabled:
            return scope
        key: Any = (scope.name, scope.version, scope.schema_url,
                    tuple(sorted((scope.attributes or {}).items(), key=lambda kv: kv[0])))
        try:
            hash(key)
        except TypeError:
            key = id(scope)  # unhashable attribute values: scrub every time
        cached = self._scopes.get(key)
        if cached is not None:
            return cached
        context = ScrubContext(5.0)
        try:
            clean = InstrumentationScope(
                self.scrubber.text(scope.name, context),
                self.scrubber.text(scope.version, context) if scope.version else scope.version,
                scope.schema_url,
                self.scrubber.attributes(scope.attributes, context) or None)
        except Exception:
            self.scrubber.count_failure()
            clean = InstrumentationScope(REDACTION_FAILED)
        if len(self._scopes) < 1000:
            self._scopes[key] = clean
        return clean

    # ------------------------------------------------------------------ resource
    def resource(self, resource: Resource) -> Resource:
        """Resource attributes (``OTEL_RESOURCE_ATTRIBUTES`` included), once per process."""
        if not self.enabled:
            return resource
        try:
            clean = self.scrubber.attributes(resource.attributes, ScrubContext(5.0))
        except Exception:
            self.scrubber.count_failure()
            clean = _shape_valid(resource.attributes)
        return Resource(clean, resource.schema_url)

    # ------------------------------------------------------------------ metrics
    def metrics(self, data: MetricsData) -> MetricsData:
        if not self.enabled:
            return data
        context = ScrubContext(5.0)
        resource_metrics = []
        for rm in data.resource_metrics:
            scope_metrics = []
            for sm in rm.scope_metrics:
                own = sm.scope.name == c.INSTRUMENTATION_SCOPE
                metrics = [self._metric(m, context, own) for m in sm.metrics]
                scope_metrics.append(dataclasses.replace(
                    sm, scope=self.scope(sm.scope) or sm.scope, metrics=metrics))
            resource_metrics.append(dataclasses.replace(
                rm, resource=self.resource(rm.resource), scope_metrics=scope_metrics))
        return MetricsData(resource_metrics=resource_metrics)

    def _metric(self, metric: Any, context: ScrubContext, own: bool) -> Any:
        scrubber = self.scrubber
        points = []
        for point in metric.data.data_points:
            attributes = dict(point.attributes or {})
            if not own:  # user instruments: the metric attribute allowlist (cardinality)
                attributes = {k: v for k, v in attributes.items()
                              if k in c.METRIC_ATTRIBUTE_ALLOWLIST}
            changes: dict[str, Any] = {"attributes": scrubber.attributes(attributes, context)}
            if getattr(point, "exemplars", None):
                # Exemplars carry the attributes a view filtered out: raw by definition.
                changes["exemplars"] = [dataclasses.replace(e, filtered_attributes=None)
                                        for e in point.exemplars]
            points.append(dataclasses.replace(point, **changes))
        data = dataclasses.replace(metric.data, data_points=_merged(points))
        return dataclasses.replace(
            metric, name=metric.name if own else scrubber.text(metric.name, context),
            description=scrubber.text(metric.description or "", context),
            unit=scrubber.text(metric.unit or "", context), data=data)


def _merged(points: list[Any]) -> list[Any]:
    """Points whose attributes became equal (allowlist cut) are merged, not duplicated."""
    by_key: dict[Any, Any] = {}
    for point in points:
        key: Any = tuple(sorted(point.attributes.items(), key=lambda kv: kv[0]))
        try:
            hash(key)
        except TypeError:
            key = id(point)
        previous = by_key.get(key)
        if previous is None:
            by_key[key] = point
        elif hasattr(point, "value") and isinstance(point.value, (int, float)):
            by_key[key] = dataclasses.replace(previous, value=previous.value + point.value)
        elif hasattr(point, "bucket_counts") and point.explicit_bounds == previous.explicit_bounds:
            by_key[key] = dataclasses.replace(
                previous, count=previous.count + point.count, sum=previous.sum + point.sum,
                bucket_counts=[a + b for a, b in zip(previous.bucket_counts,
                                                     point.bucket_counts, strict=True)],
                min=min(previous.min, point.min), max=max(previous.max, point.max))
        # other point kinds (gauges): the first one stands for the merged series
    return list(by_key.values())


def _shape_valid(attributes: Any) -> dict[str, Any]:
    """What survives a failed scrub: values that fit their key's declared shape, and a flag."""
    kept = {k: v for k, v in (attributes or {}).items() if fits_shape(k, v)}
    kept[c.REDACTION_FAILED] = True
    return kept


def _without_state(span_context: SpanContext | None) -> SpanContext | None:
    if span_context is None or not span_context.trace_state:
        return span_context
    return SpanContext(span_context.trace_id, span_context.span_id, span_context.is_remote,
                       span_context.trace_flags, TraceState())


class GuardedSpanProcessor(SpanProcessor):
    """Hands ``inner`` the scrubbed span at ``on_end``. ``on_start`` gets the live span (a
    processor may add attributes there; they are scrubbed with the rest when it ends)."""

    def __init__(self, inner: SpanProcessor, guard: ExitGuard) -> None:
        self.inner = inner
        self._guard = guard

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self.inner.on_end(self._guard.span(span))

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class GuardedTracerProvider(TracerProvider):
    """A TracerProvider whose every span processor sits behind the ExitGuard, including the
    ones added after ``configure()`` (through the global provider or this one)."""

    def __init__(self, guard: ExitGuard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard = guard

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(GuardedSpanProcessor(span_processor, self._guard))


class ScrubbingMetricExporter(MetricExporter):
    """Wraps a metric exporter: every export passes the ExitGuard first."""

    def __init__(self, inner: MetricExporter, guard: ExitGuard) -> None:
        super().__init__(preferred_temporality=getattr(inner, "_preferred_temporality", None),
                         preferred_aggregation=getattr(inner, "_preferred_aggregation", None))
        self.inner = inner
        self._guard = guard

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: Any) -> MetricExportResult:
        return self.inner.export(self._guard.metrics(metrics_data), timeout_millis=timeout_millis,
                                 **kwargs)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)


__all__ = ["ExitGuard", "GuardedSpanProcessor", "GuardedTracerProvider", "ScrubbingMetricExporter"]
