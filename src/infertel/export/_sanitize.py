"""Values OTLP cannot carry, made carriable before encoding, without ever printing them.

OpenTelemetry's encoder raises on a log body it cannot encode (the whole batch is lost) and,
for an attribute, logs the key *and the value* to stderr and drops it. So nothing unencodable
may reach it: integers outside int64 become decimal strings, strings with lone surrogates get
U+FFFD in their place (a surrogate pair split over two code points is joined), numbers of other
types (numpy scalars, ``Fraction``...) become ``int``/``float``, sets and other sequences become
lists, mapping keys become strings, and anything else becomes the opaque ``<UNSUPPORTED_VALUE>``
— never ``str(value)``, which could show what the privacy boundary did not inspect.

Checking is the fast path: one pass over a record that allocates nothing when every value is
already carriable (the normal case); only a record that fails the check is rebuilt.
"""

from __future__ import annotations

import dataclasses
import numbers
import operator
from collections.abc import Mapping, Sequence, Set
from typing import Any, Final

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics.export import Metric, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, Status

INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1
UNSUPPORTED: Final = "<UNSUPPORTED_VALUE>"
# Deeper nesting than this is cut (a self-referencing list would otherwise recurse forever).
MAX_DEPTH: Final = 32


def carriable(value: Any, depth: int = 0) -> bool:
    """True when OTLP's encoder takes ``value`` as it is (exact types only: a subclass of
    ``str`` or ``int`` is rebuilt, which costs nothing in the normal case)."""
    kind = type(value)
    if kind is str:
        return bool(value.isascii()) or _utf8(value)
    if kind is int:
        return bool(INT64_MIN <= value <= INT64_MAX)
    if kind is float or kind is bool or value is None or kind is bytes:
        return True
    if depth >= MAX_DEPTH:
        return False
    if kind is list or kind is tuple:
        return all(carriable(item, depth + 1) for item in value)
    if kind is dict:
        return all(type(key) is str and carriable(key) and carriable(item, depth + 1)
                   for key, item in value.items())
    return False


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(text: str) -> str:
    """``text`` as valid UTF-8: lone surrogates become U+FFFD, split pairs are joined."""
    if text.isascii() or _utf8(text):
        return str(text)
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def clean(value: Any, depth: int = 0) -> Any:
    """A carriable equivalent of ``value`` (see the module docstring for each conversion)."""
    if value is None:
        return None
    kind = type(value)
    if kind is bool or kind is float or kind is bytes:
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int):
        number = int(value)
        return number if INT64_MIN <= number <= INT64_MAX else str(number)
    if isinstance(value, float):  # numpy.float64 and other float subclasses
        return float(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if depth >= MAX_DEPTH:
        return UNSUPPORTED
    if isinstance(value, Mapping):
        return {_key(key): clean(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (Sequence, Set)):
        return [clean(item, depth + 1) for item in value]
    return _number(value)


def _key(key: Any) -> str:
    """A mapping key as a string: numbers keep their digits, anything else that is not text is
    opaque (the encoder would call ``str()`` on it, which could print an unscrubbed object)."""
    if isinstance(key, str):
        return clean_text(key)
    if isinstance(key, (bool, int, float)):
        return str(clean(key))
    number = _number(key)
    return str(number) if number is not UNSUPPORTED else UNSUPPORTED


def _number(value: Any) -> Any:
    try:
        if hasattr(type(value), "__index__"):  # numpy integers, IntEnum-likes
            return clean(operator.index(value))
        if isinstance(value, numbers.Real):  # numpy floats, Fraction, Decimal-likes
            return float(value)
    except Exception:  # a broken __index__/__float__ must not cost the record
        return UNSUPPORTED
    return UNSUPPORTED


def attributes_carriable(attributes: Mapping[str, Any] | None) -> bool:
    if not attributes:
        return True
    return all(type(key) is str and carriable(key) and carriable(value)
               for key, value in attributes.items())


def clean_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {_key(key): clean(value) for key, value in (attributes or {}).items()}


def _text_carriable(text: str | None) -> bool:
    return text is None or (type(text) is str and carriable(text))


def _optional_text(text: str | None) -> str | None:
    return None if text is None else clean_text(str(text))


# ----------------------------------------------------------------- resource and scope
def resource_carriable(resource: Resource | None) -> bool:
    return resource is None or attributes_carriable(resource.attributes)


def clean_resource(resource: Resource) -> Resource:
    return Resource(clean_attributes(resource.attributes), _optional_text(resource.schema_url))


def scope_carriable(scope: InstrumentationScope | None) -> bool:
    return scope is None or (
        _text_carriable(scope.name) and _text_carriable(scope.version)
        and attributes_carriable(scope.attributes))


def clean_scope(scope: InstrumentationScope) -> InstrumentationScope:
    return InstrumentationScope(clean_text(scope.name), _optional_text(scope.version),
                                _optional_text(scope.schema_url),
                                clean_attributes(scope.attributes))


# ----------------------------------------------------------------- spans
def span_carriable(span: ReadableSpan) -> bool:
    return (
        _text_carriable(span.name)
        and attributes_carriable(span.attributes)
        and all(_text_carriable(e.name) and attributes_carriable(e.attributes)
                for e in span.events)
        and all(attributes_carriable(link.attributes) for link in span.links)
        and _text_carriable(span.status.description)
        and resource_carriable(span.resource)
        and scope_carriable(span.instrumentation_scope)
    )


def clean_span(span: ReadableSpan) -> ReadableSpan:
    status = span.status
    if status.description is not None:
        status = Status(status.status_code, clean_text(status.description))
    scope = span.instrumentation_scope
    return ReadableSpan(
        name=clean_text(span.name),
        context=span.context,
        parent=span.parent,
        resource=clean_resource(span.resource) if span.resource is not None else None,
        attributes=clean_attributes(span.attributes),
        events=[Event(clean_text(e.name), clean_attributes(e.attributes), e.timestamp)
                for e in span.events],
        links=[Link(link.context, clean_attributes(link.attributes)) for link in span.links],
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=clean_scope(scope) if scope is not None else None,
    )


# ----------------------------------------------------------------- logs
def log_carriable(readable: ReadableLogRecord) -> bool:
    record = readable.log_record
    return (
        carriable(record.body)
        and attributes_carriable(record.attributes)
        and _text_carriable(record.severity_text)
        and _text_carriable(record.event_name)
        and resource_carriable(readable.resource)
        and scope_carriable(readable.instrumentation_scope)
    )


def clean_log(readable: ReadableLogRecord) -> ReadableLogRecord:
    import copy

    record = copy.copy(readable.log_record)  # keeps context, ids, timestamps, severity
    record.body = clean(record.body)
    record.attributes = clean_attributes(record.attributes)
    record.severity_text = _optional_text(record.severity_text)
    record.event_name = _optional_text(record.event_name)
    scope = readable.instrumentation_scope
    return dataclasses.replace(
        readable, log_record=record, resource=clean_resource(readable.resource),
        instrumentation_scope=clean_scope(scope) if scope is not None else None)


# ----------------------------------------------------------------- metrics
def metric_carriable(metric: Metric) -> bool:
    if not (_text_carriable(metric.name) and _text_carriable(metric.description)
            and _text_carriable(metric.unit)):
        return False
    for point in getattr(metric.data, "data_points", ()):
        if not attributes_carriable(point.attributes):
            return False
        value = getattr(point, "value", None)
        if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
            return False
        for exemplar in getattr(point, "exemplars", None) or ():
            if not attributes_carriable(exemplar.filtered_attributes):
                return False
    return True


def clean_metric(metric: Metric) -> Metric:
    points: list[Any] = []
    for point in metric.data.data_points:
        changes: dict[str, Any] = {"attributes": clean_attributes(point.attributes)}
        value = getattr(point, "value", None)
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            changes["value"] = float(value)  # int64 overflow: the double keeps the magnitude
        if getattr(point, "exemplars", None):
            changes["exemplars"] = [
                dataclasses.replace(e, filtered_attributes=clean_attributes(
                    e.filtered_attributes)) for e in point.exemplars]
        points.append(dataclasses.replace(point, **changes))
    data: Any = dataclasses.replace(metric.data, data_points=points)  # type: ignore[arg-type]
    return Metric(name=clean_text(metric.name), description=_optional_text(metric.description),
                  unit=_optional_text(metric.unit), data=data)


def metrics_carriable(data: MetricsData) -> bool:
    return all(
        resource_carriable(rm.resource)
        and all(scope_carriable(sm.scope) and all(metric_carriable(m) for m in sm.metrics)
                for sm in rm.scope_metrics)
        for rm in data.resource_metrics)
