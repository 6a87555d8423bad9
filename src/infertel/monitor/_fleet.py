"""Drift for a fleet: merge the exported drift histograms of every process, then judge.

Input is OTLP/JSON metric export requests (as the local store or a Collector's file exporter
holds them; the CLI reads the files). Each process writes its own series: the key of a series
is (resource ``service.instance.id``, point attributes, start time), so restarts and replicas
never mix. A window's counts are, per series, the cumulative count at the window's end minus
the count at its start (or the sum of the delta points inside it), summed over every series.
The merged counts then go through the same :class:`DriftMonitor` judgement as one process's.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from infertel import conventions as c
from infertel.monitor._config import DriftConfig
from infertel.monitor._monitor import DriftMonitor, Group, ScoreRecord
from infertel.monitor._scores import feature_scores
from infertel.monitor._windows import StateChange

By = Literal["group", "version", "ring"]
ALL = "*"
_CUMULATIVE = (2, "2", "AGGREGATION_TEMPORALITY_CUMULATIVE")


@dataclass
class _Series:
    cumulative: bool
    points: list[tuple[int, list[int]]] = field(default_factory=list)  # (time_ns, counts)


@dataclass
class FleetDrift:
    """What the merged store says, per group and feature."""

    totals: dict[tuple[Group, str], list[int]]
    windows: list[ScoreRecord]
    events: list[StateChange]
    states: dict[tuple[Group, str], str]
    series: int
    first_ns: int | None
    last_ns: int | None

    def total_scores(self, config: DriftConfig) -> dict[tuple[Group, str], dict[str, float]]:
        return {key: feature_scores(config.baseline.features[key[1]], counts)
                for key, counts in self.totals.items() if sum(counts) > 0}


def _value(raw: Any) -> int:
    try:
        return int(float(raw))
    except (TypeError, ValueError):
        return 0


def _attributes(raw: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            value = item.get("value") or {}
            result[item["key"]] = next(iter(value.values()), None) if isinstance(
                value, dict) else None
    return result


def _group(attributes: Mapping[str, Any], by: By) -> Group:
    model = str(attributes.get(c.MODEL_NAME, ""))
    version = str(attributes.get(c.MODEL_VERSION, ""))
    ring = str(attributes.get(c.DEPLOYMENT_RING, ""))
    if by == "version":
        return (model, version, ALL)
    if by == "ring":
        return (model, ALL, ring)
    return (model, version, ring)


def collect_series(documents: Iterable[Mapping[str, Any]], config: DriftConfig,
                   by: By = "group") -> dict[tuple[Any, ...], _Series]:
    """Every drift series in ``documents`` (OTLP/JSON ExportMetricsServiceRequest dicts)."""
    features = config.baseline.features
    series: dict[tuple[Any, ...], _Series] = {}
    for document in documents:
        for resource_metrics in document.get("resourceMetrics") or []:
            resource = _attributes((resource_metrics.get("resource") or {}).get("attributes"))
            instance = str(resource.get(c.SERVICE_INSTANCE_ID, ""))
            for scope in resource_metrics.get("scopeMetrics") or []:
                for metric in scope.get("metrics") or []:
                    name = metric.get("name")
                    if name == c.METRIC_FEATURE_DISTRIBUTION:
                        _histogram(metric.get("histogram") or {}, instance, features, by,
                                   series)
                    elif name == c.METRIC_FEATURE_CATEGORIES:
                        _categories(metric.get("sum") or {}, instance, features, by, series)
    for key, item in series.items():
        item.points.sort(key=lambda point: point[0])
        start = _value(key[-1])
        if item.cumulative and item.points and 0 < start < item.points[0][0]:
            # A cumulative series counts from its start time: zero there, so the calls before
            # its first export land in the windows they happened in.
            item.points.insert(0, (start, [0] * len(item.points[0][1])))
    return series


def _histogram(data: Mapping[str, Any], instance: str, features: Mapping[str, Any], by: By,
               series: dict[tuple[Any, ...], _Series]) -> None:
    cumulative = data.get("aggregationTemporality") in _CUMULATIVE
    for point in data.get("dataPoints") or []:
        attributes = _attributes(point.get("attributes"))
        name = str(attributes.get(c.FEATURE_NAME))
        feature = features.get(name)
        if feature is None or feature.kind != "numeric":
            continue
        bounds = [float(b) for b in point.get("explicitBounds") or []]
        if bounds != list(feature.bounds):
            continue  # written against another baseline: not comparable with this one
        counts = [_value(n) for n in point.get("bucketCounts") or []]
        if len(counts) != feature.n_bins:
            continue
        key = (instance, _group(attributes, by), name, _raw_group(attributes),
               point.get("startTimeUnixNano"))
        item = series.setdefault(key, _Series(cumulative))
        item.points.append((_value(point.get("timeUnixNano")), counts))


def _categories(data: Mapping[str, Any], instance: str, features: Mapping[str, Any], by: By,
                series: dict[tuple[Any, ...], _Series]) -> None:
    cumulative = data.get("aggregationTemporality") in _CUMULATIVE
    # One point per category: gather them back into one count vector per (series, time).
    gathered: dict[tuple[Any, ...], dict[int, list[int]]] = {}
    for point in data.get("dataPoints") or []:
        attributes = _attributes(point.get("attributes"))
        name = str(attributes.get(c.FEATURE_NAME))
        feature = features.get(name)
        if feature is None or feature.kind != "categorical":
            continue
        labels = feature.bin_labels()
        label = attributes.get(c.FEATURE_BIN)
        if label not in labels:
            continue
        key = (instance, _group(attributes, by), name, _raw_group(attributes),
               point.get("startTimeUnixNano"))
        at = _value(point.get("timeUnixNano"))
        vector = gathered.setdefault(key, {}).setdefault(at, [0] * len(labels))
        vector[labels.index(label)] += _value(point.get("asInt", point.get("asDouble")))
    for key, by_time in gathered.items():
        item = series.setdefault(key, _Series(cumulative))
        item.points.extend(by_time.items())


def _raw_group(attributes: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(attributes.get(c.MODEL_NAME, "")), str(attributes.get(c.MODEL_VERSION, "")),
            str(attributes.get(c.DEPLOYMENT_RING, "")))


def _at(item: _Series, time_ns: int, size: int) -> list[int]:
    """A cumulative series' counts at ``time_ns`` (its last point not after it)."""
    times = [t for t, _ in item.points]
    index = bisect_right(times, time_ns)
    return list(item.points[index - 1][1]) if index else [0] * size


def fleet_drift(documents: Iterable[Mapping[str, Any]], config: DriftConfig,
                by: By = "group") -> FleetDrift:
    """Merge every process's drift histograms and judge them window by window."""
    series = collect_series(documents, config, by)
    features = config.baseline.features
    totals: dict[tuple[Group, str], list[int]] = {}
    times = [t for item in series.values() for t, _ in item.points]
    first = min(times) if times else None
    last = max(times) if times else None
    monitor = DriftMonitor(config, start_ns=first or 0)
    result = FleetDrift(totals, [], [], {}, len(series), first, last)
    if first is None or last is None:
        return result
    for (_, group, name, _, _), item in series.items():
        size = features[name].n_bins
        total = _at(item, last, size) if item.cumulative else [
            sum(column) for column in zip(*(p for _, p in item.points), strict=True)]
        merged = totals.setdefault((group, name), [0] * size)
        for i, n in enumerate(total):
            merged[i] += n
    window_ns = config.window_ns
    start = first - first % window_ns
    # Points are written at collection time, so counts written at t belong to calls up to t:
    # the window [s, s + w) takes what was written in (s, s + w]. A last partial window is
    # judged too (its end is the last export).
    while start < last:
        end = start + window_ns
        per_group: dict[Group, dict[str, list[int]]] = {}
        for (_, group, name, _, _), item in series.items():
            size = features[name].n_bins
            if item.cumulative:
                counts = [b - a for a, b in zip(_at(item, start, size), _at(item, end, size),
                                                strict=True)]
            else:
                counts = [sum(column) for column in zip(
                    [0] * size, *(p for t, p in item.points if start < t <= end), strict=True)]
            merged = per_group.setdefault(group, {}).setdefault(name, [0] * size)
            for i, n in enumerate(counts):
                merged[i] += n
        for group, counts_by_feature in per_group.items():
            calls = max((sum(v) for v in counts_by_feature.values()), default=0)
            if calls:
                monitor.add_counts(group, counts_by_feature, calls, start)
        tick = monitor.tick(end)
        result.windows.extend(tick.scores)
        result.events.extend(tick.events)
        start = end
    result.states.update(monitor.states())
    return result
