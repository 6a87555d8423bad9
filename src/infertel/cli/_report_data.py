"""What ``infertel report`` shows, gathered from a store into plain rows (no plotting here).

* drift per feature and window, recomputed from the exported histograms of every process
  (:func:`infertel.monitor._fleet.fleet_drift`), when the store has drift data;
* calls, error rate and p50/p95 latency per (version, ring) and time bucket, from the spans
  (DuckDB over the store);
* drift events (``ml.drift.detected`` as the processes wrote them, else the state changes the
  recomputation found) and rollout decisions (``ml.rollout.decision``), with trace ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

from infertel import conventions as c

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_BUCKETS: Final = 40  # time buckets for error rate and latency when there is no drift window

_TRAFFIC_SQL: Final = """
SELECT time_bucket(to_microseconds(CAST(? AS BIGINT)), start) AS bucket,
       coalesce(version, '?') AS version, coalesce(ring, '?') AS ring, count(*) AS calls,
       count(*) FILTER (WHERE status = 'error') AS errors,
       quantile_cont(duration_ms, 0.5) AS p50_ms, quantile_cont(duration_ms, 0.95) AS p95_ms
FROM spans WHERE start IS NOT NULL AND (model IS NOT NULL OR version IS NOT NULL)
GROUP BY ALL ORDER BY bucket
"""


@dataclass
class DriftPoint:
    time: datetime  # the window's end
    group: str  # "model version ring"
    feature: str
    psi: float
    js_distance: float
    level: str
    state: str


@dataclass
class TrafficPoint:
    time: datetime
    version: str
    ring: str
    calls: int
    error_rate: float
    p50_ms: float
    p95_ms: float


@dataclass
class Marker:
    time: datetime
    kind: str  # "drift" | "rollout"
    title: str
    detail: str
    trace_ids: list[str] = field(default_factory=list)


@dataclass
class ReportData:
    store: Path
    drift: list[DriftPoint] = field(default_factory=list)
    traffic: list[TrafficPoint] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    thresholds: dict[str, tuple[float, float]] = field(default_factory=dict)
    window_s: float | None = None
    notes: list[str] = field(default_factory=list)
    final_states: dict[str, str] = field(default_factory=dict)  # "group / feature" -> state


def from_ns(nanos: int) -> datetime:
    return _EPOCH + timedelta(microseconds=nanos // 1000)


def _naive_utc(text: Any) -> datetime | None:
    if isinstance(text, datetime):
        return text.replace(tzinfo=timezone.utc) if text.tzinfo is None else text
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def gather(store: Path, baseline: Path | None = None, window: str | None = None) -> ReportData:
    """Everything the report shows (raises StoreError when the store cannot be read)."""
    from infertel.cli.drift import drift_config, read_store, stored_events

    data = ReportData(store)
    metrics, logs, _ = read_store(store)
    try:
        config = drift_config(logs, baseline, window, None)
    except (ValueError, OSError) as error:
        config = None
        data.notes.append(f"no drift section: {error}")
    if config is not None:
        _drift(data, config, metrics)
    events = stored_events(logs)
    _markers(data, events)
    bucket_s = data.window_s
    _traffic(data, store, bucket_s)
    return data


def _drift(data: ReportData, config: Any, metrics: list[dict[str, Any]]) -> None:
    from infertel.monitor._fleet import fleet_drift

    result = fleet_drift(metrics, config)
    data.thresholds = dict(config.rules.thresholds)
    data.window_s = config.window
    for w in result.windows:
        data.drift.append(DriftPoint(
            time=from_ns(w.window_end_ns), group=" ".join(w.group), feature=w.feature,
            psi=w.scores.get("psi", 0.0), js_distance=w.scores.get("js_distance", 0.0),
            level=w.level, state=w.state))
    for (group, feature), state in result.states.items():
        data.final_states[f"{' '.join(group)} / {feature}"] = state
    if not result.windows:
        data.notes.append("drift: no window reached the minimum number of calls "
                          f"({config.rules.min_count}) to be judged")
    # Recomputed state changes stand in when the processes wrote no events themselves.
    data.markers.extend(Marker(
        time=from_ns(e.window_end_ns), kind="drift",
        title=f"{e.feature}: {e.previous} -> {e.state} (recomputed)",
        detail=_scores_text(e.scores) + f"; {' '.join(e.group.values())}",
        trace_ids=list(e.exemplar_trace_ids)) for e in result.events)


def _markers(data: ReportData, events: list[dict[str, Any]]) -> None:
    stored_drift = False
    for event in events:
        body, when = event["body"], _naive_utc(event["time"])
        if when is None:
            continue
        if event["event"] == c.EVENT_DRIFT_DETECTED:
            stored_drift = True
            data.markers.append(Marker(
                time=_naive_utc(body.get("window_end")) or when,
                kind="drift",
                title=f"{body.get('feature')}: {body.get('previous')} -> {body.get('state')}",
                detail=_scores_text(body.get("scores") or {}) + f"; {body.get('model', '')} "
                       f"{body.get('version', '')} {body.get('ring', '')}; top bins: "
                       + ", ".join(f"{b.get('bin')} {b.get('baseline_share', 0):.1%} -> "
                                   f"{b.get('window_share', 0):.1%}"
                                   for b in body.get("top_bins") or []),
                trace_ids=[str(t) for t in body.get("exemplar_trace_ids") or []]))
        elif event["event"] == c.EVENT_ROLLOUT_DECISION:
            decision = body.get("decision") or body.get(c.ROLLOUT_DECISION) or body.get(
                "value")
            data.markers.append(Marker(
                time=when, kind="rollout", title=f"rollout: {decision}",
                detail=str(body.get("reason") or body.get("criteria") or "")[:300],
                trace_ids=[]))
    if stored_drift:  # the processes' own events carry exemplars: prefer them
        data.markers = [m for m in data.markers
                        if not (m.kind == "drift" and m.title.endswith("(recomputed)"))]
    data.markers.sort(key=lambda m: m.time)


def _scores_text(scores: dict[str, Any]) -> str:
    return ", ".join(f"{k} {float(v):.3f}" for k, v in scores.items()
                     if isinstance(v, (int, float)))


def _traffic(data: ReportData, store: Path, bucket_s: float | None) -> None:
    from infertel.tools._store import open_store

    with open_store(store) as db:
        span = db.execute("SELECT min(start), max(start) FROM spans").fetchone()
        if span is None or span[0] is None:
            data.notes.append("no spans: no error-rate or latency section")
            return
        if bucket_s is None:
            total = max((span[1] - span[0]).total_seconds(), 1.0)
            bucket_s = max(total / _BUCKETS, 1.0)
        rows = db.execute(_TRAFFIC_SQL, [int(bucket_s * 1e6)]).fetchall()
    for bucket, version, ring, calls, errors, p50, p95 in rows:
        data.traffic.append(TrafficPoint(
            # At the bucket's end, as drift windows are: one time axis for both.
            time=(_naive_utc(bucket) or _EPOCH) + timedelta(seconds=bucket_s),
            version=version, ring=ring, calls=int(calls),
            error_rate=errors / calls if calls else 0.0, p50_ms=float(p50 or 0.0),
            p95_ms=float(p95 or 0.0)))
