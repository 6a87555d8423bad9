"""``infertel.health()``: the telemetry path's own state, for probes and as self-metrics.

Every fact is a count, a time, a flag or a reason word: nothing from a payload. Collecting
them reads a few counters (no I/O except the spool's size, cached for a second) and never
raises: a probe must be able to call it every second without a second thought.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from infertel import conventions as c

# The queue counts as nearly full (not ok) from this share of its capacity.
QUEUE_FULL_SHARE = 0.9
SIGNALS = ("traces", "logs", "metrics")
_SPOOL_CACHE_S = 1.0


@dataclasses.dataclass(frozen=True)
class Health:
    """A snapshot of the telemetry path. ``ok`` is False exactly when ``reasons`` is not empty.

    ``ok`` describes telemetry, not the service: gate a telemetry alert or a dedicated probe
    on it, not the service's readiness for traffic (a collector outage must not take the
    service out of rotation).
    """

    ok: bool
    reasons: tuple[str, ...]
    configured: bool
    enabled: bool
    shut_down: bool
    pid: int
    service_instance_id: str | None
    worker_alive: bool
    queue_depth: int
    queue_capacity: int
    dropped: Mapping[str, int]
    # Per exported signal, the export side's facts (export/_status.py: exporter,
    # last_success_unix_nano, last_failure_unix_nano, consecutive_failures, last_error,
    # exported_records, dropped...) plus last_success_age_s (since the last success, or since
    # configure() if none yet).
    exports: Mapping[str, Mapping[str, Any]]
    # The redaction child (None when redaction runs in-process): alive, restarts, failures...
    redaction_child: Mapping[str, Any] | None
    # The durable spool (None when off): bytes, batches, records, oldest_age_s...
    spool: Mapping[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able types: tuples become lists, mappings dicts."""
        plain: dict[str, Any] = _plain(dataclasses.asdict(self))
        return plain


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def not_configured() -> Health:
    return Health(ok=False, reasons=("not configured",), configured=False, enabled=False,
                  shut_down=False, pid=os.getpid(), service_instance_id=None,
                  worker_alive=False, queue_depth=0, queue_capacity=0, dropped={}, exports={},
                  redaction_child=None, spool=None)


def collect_health(telemetry: Any) -> Health:
    """The state of ``telemetry`` (a Telemetry or None). Never raises."""
    if telemetry is None:
        return not_configured()
    try:
        return _collect(telemetry)
    except Exception as error:  # a probe must get an answer
        failed = not_configured()
        return dataclasses.replace(
            failed, configured=True,
            reasons=(f"health check failed ({type(error).__name__})",))


def _collect(telemetry: Any) -> Health:
    worker = telemetry.worker
    closed = bool(telemetry.closed)
    enabled = bool(telemetry.enabled) and not closed
    depth, capacity = worker.pending(), worker.maxsize
    exports = _exports(telemetry)
    redaction = _redaction(telemetry.scrubber)
    spool = _spool(telemetry)
    reasons: list[str] = []
    if closed:
        reasons.append("shut down")
    elif enabled:
        if not worker.alive():
            reasons.append("worker not running")
        if capacity and depth >= QUEUE_FULL_SHARE * capacity:
            reasons.append(f"queue nearly full ({depth}/{capacity})")
        for signal, facts in exports.items():
            # Failing now: the last attempt failed (the export side stops retrying a dead
            # endpoint for a while, so a count of failures in a row would stall at one).
            failed, succeeded = facts.get("last_failure_unix_nano"), facts.get(
                "last_success_unix_nano")
            if isinstance(failed, int) and (not isinstance(succeeded, int) or failed > succeeded):
                reasons.append(f"{signal} export failing ({facts.get('last_error') or 'error'})")
        if redaction is not None and not redaction.get("alive", True) \
                and redaction.get("backoff_remaining_s"):
            reasons.append("redaction child down (in backoff; redacting in-process)")
        if spool is not None and spool.get("error"):
            reasons.append("spool unavailable")
    return Health(
        ok=not reasons, reasons=tuple(reasons), configured=True, enabled=enabled,
        shut_down=closed, pid=os.getpid(),
        service_instance_id=_instance_id(telemetry), worker_alive=worker.alive(),
        queue_depth=depth, queue_capacity=capacity, dropped=telemetry.dropped(),
        exports=exports, redaction_child=redaction, spool=spool)


def _exports(telemetry: Any) -> dict[str, dict[str, Any]]:
    """The export side's per-signal status (export/_status.py), when it is there."""
    status = getattr(telemetry, "export_status", None)
    snapshot = getattr(status, "snapshot", None)
    if snapshot is None:
        return {}
    now = time.time_ns()
    started = int(getattr(telemetry, "_configured_ns", now))
    facts: dict[str, dict[str, Any]] = {}
    for signal, state in snapshot().items():
        if not isinstance(state, Mapping) or state.get("exporter") == "none":
            continue
        last = state.get("last_success_unix_nano")
        since = last if isinstance(last, int) else started
        facts[str(signal)] = {**state, "last_success_age_s": round((now - since) / 1e9, 3),
                              "consecutive_failures": int(state.get("consecutive_failures") or 0)}
    return facts


def _instance_id(telemetry: Any) -> str | None:
    value = telemetry.resource.attributes.get(c.SERVICE_INSTANCE_ID)
    return str(value) if value is not None else None


def _redaction(scrubber: Any) -> dict[str, Any] | None:
    """The redaction child's own health facts (``Scrubber.child_health``), when there is one."""
    facts = scrubber.child_health()
    return dict(facts) if isinstance(facts, Mapping) else None


class _SpoolCache:
    """The spool's stats read SQLite: remembered for a second so probes stay cheap."""

    __slots__ = ("at", "lock", "value")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at = 0.0
        self.value: dict[str, Any] | None = None


_spool_caches: dict[int, _SpoolCache] = {}


def _spool(telemetry: Any) -> dict[str, Any] | None:
    spool = getattr(telemetry, "spool", None)
    stats = getattr(spool, "stats", None)
    if stats is None:
        return None
    cache = _spool_caches.setdefault(id(spool), _SpoolCache())
    now = time.monotonic()
    if cache.value is not None and now - cache.at < _SPOOL_CACHE_S:
        return cache.value
    if not cache.lock.acquire(blocking=False):  # another probe is reading it: use the last
        return cache.value
    try:
        try:
            value = dict(stats())
        except Exception as error:
            value = {"error": type(error).__name__}
        cache.value, cache.at = value, now
        return value
    finally:
        cache.lock.release()


# --------------------------------------------------------------------- self-metrics
def register_health_metrics(meter: Meter, read: Callable[[], Health]) -> None:
    """The same facts as observable instruments, read at collection time only."""

    def gauge(name: str, unit: str, description: str,
              value: Callable[[Health], float | None], *, counter: bool = False) -> None:
        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            number = value(read())
            return [] if number is None else [Observation(number)]

        create = meter.create_observable_counter if counter else meter.create_observable_gauge
        create(name, [observe], unit=unit, description=description)

    # The last collection happens during shutdown: a clean shutdown is not a fault.
    gauge(c.METRIC_HEALTH_OK, "1", "1 when infertel.health() is ok (or only shut down), else 0",
          lambda h: 1 if h.ok or h.reasons == ("shut down",) else 0)
    gauge(c.METRIC_QUEUE_DEPTH, "{record}", "Records waiting for the background worker",
          lambda h: h.queue_depth)
    gauge(c.METRIC_QUEUE_CAPACITY, "{record}", "Capacity of the hand-off queue",
          lambda h: h.queue_capacity)
    for signal in SIGNALS:
        gauge(c.METRIC_EXPORT_LAST_SUCCESS_AGE[signal], "s",
              f"Seconds since {signal} were last exported (since start if never)",
              functools.partial(_age, signal=signal))
    gauge(c.METRIC_REDACTION_CHILD_ALIVE, "1", "1 while the redaction child process runs",
          lambda h: None if h.redaction_child is None else int(bool(
              h.redaction_child.get("alive"))))
    gauge(c.METRIC_REDACTION_CHILD_RESTARTS, "{restart}",
          "Times the redaction child was started again after the first start",
          lambda h: None if h.redaction_child is None else h.redaction_child.get("restarts"),
          counter=True)
    gauge(c.METRIC_SPOOL_SIZE, "By", "Payload bytes held in the durable spool",
          lambda h: None if h.spool is None else h.spool.get("bytes"))


def _age(health: Health, signal: str) -> float | None:
    facts = health.exports.get(signal)
    return None if facts is None else facts["last_success_age_s"]


