"""rotel's ``rotel_sdk`` objects <-> plain Python, for infertel's rotel processors.

rotel 0.0.1a15 reads ``AnyValue(None).value`` back as ``""`` and a bytes value as a list of
ints; span attributes accept a Python list, event and link attributes only in-place edits, so
attributes are always replaced in place. Nothing here imports ``rotel_sdk`` at module level:
outside rotel it does not exist (only :func:`python_to_any` and :func:`replace_attributes`
need it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def any_to_python(value: Any) -> Any:
    """A rotel ``AnyValue`` (or its ``.value``) as plain Python: str, int, float, bool, bytes,
    list or dict."""
    raw = getattr(value, "value", value) if _is_any_value(value) else value
    if raw is None or isinstance(raw, (str, bool, int, float, bytes)):
        return raw
    kind = type(raw).__name__
    if kind == "KeyValueList":
        return {kv.key: any_to_python(kv.value) for kv in raw}
    if kind == "ArrayValue":
        return [any_to_python(item) for item in raw]
    if isinstance(raw, list):  # rotel reads bytes values back as a list of ints
        return bytes(raw)
    return str(raw)


def _is_any_value(value: Any) -> bool:
    return type(value).__name__ == "AnyValue"


def python_to_any(value: Any) -> Any:
    """A rotel ``AnyValue`` holding ``value`` (only inside rotel: needs ``rotel_sdk``)."""
    from rotel_sdk.open_telemetry.common.v1 import (  # type: ignore[import-not-found]
        AnyValue,
        ArrayValue,
        KeyValue,
        KeyValueList,
    )

    def convert(item: Any) -> Any:
        if item is None or isinstance(item, (str, bool, float, bytes)):
            return AnyValue(item)
        if isinstance(item, int):
            return AnyValue(item if -(2**63) <= item < 2**63 else str(item))
        if isinstance(item, Mapping):
            kvlist = KeyValueList()
            for key, inner in item.items():
                kvlist.append(KeyValue(str(key), convert(inner)))
            return AnyValue(kvlist)
        if isinstance(item, (list, tuple)):
            array = ArrayValue()
            for inner in item:
                array.append(convert(inner))
            return AnyValue(array)
        return AnyValue(str(item))

    return convert(value)


def attributes_to_dict(attributes: Iterable[Any]) -> dict[str, Any]:
    return {kv.key: any_to_python(kv.value) for kv in attributes}


def replace_attributes(attributes: Any, values: Mapping[str, Any]) -> None:
    """Make rotel's ``AttributesList`` hold exactly ``values``, editing it in place."""
    from rotel_sdk.open_telemetry.common.v1 import KeyValue

    while len(attributes):
        del attributes[len(attributes) - 1]
    for key, value in values.items():
        attributes.append(KeyValue(key, python_to_any(value)))


def clear(sequence: Any) -> None:
    while len(sequence):
        del sequence[len(sequence) - 1]


def metric_data(metric: Any) -> tuple[str, Any]:
    """(``sum`` | ``gauge`` | ``histogram`` | ``exponentialHistogram`` | ``summary``, data)."""
    data = metric.data
    if data is None:
        return "", None
    kind = type(data).__name__.split("_", 1)[-1]  # MetricData_Sum -> Sum
    key = {"Sum": "sum", "Gauge": "gauge", "Histogram": "histogram",
           "ExponentialHistogram": "exponentialHistogram", "Summary": "summary"}.get(kind, "")
    return key, data[0]


def data_points(metric: Any) -> Iterable[Any]:
    _kind, data = metric_data(metric)
    return data.data_points if data is not None else ()
