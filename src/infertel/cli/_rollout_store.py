"""Rollout evidence read back from a store: calls, plans and decisions, per process.

Calls come from the ``inference`` log records (one per call, sampled or not): ring, segment,
outcome, ``ml.inference.duration`` (as the worker computed it), the record's end time in
nanoseconds and the first numeric output the policy let through. Plans and decisions come from
the ``ml.rollout.plan`` / ``ml.rollout.decision`` events, whose canonical JSON bodies are parsed
back exactly. Nothing here needs DuckDB: the raw OTLP/JSON keeps nanosecond times, which a
``TIMESTAMP`` column would round.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infertel import conventions as c
from infertel.rollout import Decision, Observation, RolloutGuard
from infertel.rollout._cells import prediction_of
from infertel.rollout._decision import text_to_ns
from infertel.rollout._events import parse_decision, parse_plan
from infertel.tools._store import ReadStats, any_value, attributes_dict, iter_documents

# Relative tolerance when comparing a recomputed statistic with the stored one: the sums are
# the same numbers added in the same order, so only the last bits may differ.
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class StoredPlan:
    instance: str
    plan: dict[str, Any]
    plan_hash: str
    hash_ok: bool


@dataclass(frozen=True)
class StoredDecision:
    instance: str
    time_ns: int
    decision: dict[str, Any]


@dataclass(frozen=True)
class StoredDrift:
    """An ``ml.drift.detected`` state change, as the worker handed it to the guard."""

    time_ns: int
    ring: str
    feature: str
    level: str
    facts: dict[str, Any]


@dataclass
class StoreRollout:
    calls: dict[str, list[Observation]] = field(default_factory=lambda: defaultdict(list))
    drift: dict[str, list[StoredDrift]] = field(default_factory=lambda: defaultdict(list))
    plans: list[StoredPlan] = field(default_factory=list)
    decisions: list[StoredDecision] = field(default_factory=list)
    stats: ReadStats = field(default_factory=ReadStats)

    def all_calls(self) -> list[Observation]:
        merged = [obs for calls in self.calls.values() for obs in calls]
        merged.sort(key=lambda o: o.end_ns)
        return merged


def read_rollout(path: str | os.PathLike[str]) -> StoreRollout:
    """Every call, plan and decision in the store, grouped by ``service.instance.id``."""
    out = StoreRollout()
    for document in iter_documents(path, out.stats):
        if document.signal != "logs":
            continue
        for resource_logs in _list(document.data.get("resourceLogs")):
            resource = attributes_dict(_dict(resource_logs.get("resource")).get("attributes"))
            instance = str(resource.get(c.SERVICE_INSTANCE_ID, "unknown"))
            for scope_logs in _list(resource_logs.get("scopeLogs")):
                for record in _list(scope_logs.get("logRecords")):
                    _read_record(out, instance, _dict(record))
    for calls in out.calls.values():
        calls.sort(key=lambda o: o.end_ns)
    for changes in out.drift.values():
        changes.sort(key=lambda d: d.time_ns)
    out.decisions.sort(key=lambda d: (d.instance, int(d.decision.get("look", 0))))
    return out


def _read_record(out: StoreRollout, instance: str, record: Mapping[str, Any]) -> None:
    name = record.get("eventName")
    if name not in (c.EVENT_INFERENCE, c.EVENT_ROLLOUT_PLAN, c.EVENT_ROLLOUT_DECISION,
                    c.EVENT_DRIFT_DETECTED):
        return
    body = any_value(record.get("body"))
    body = body if isinstance(body, dict) else {}
    time_ns = _int(record.get("timeUnixNano"))
    if name == c.EVENT_DRIFT_DETECTED:
        _read_drift(out, instance, body, time_ns)
        return
    if name == c.EVENT_ROLLOUT_PLAN:
        plan, ok = parse_plan(body)
        out.plans.append(StoredPlan(instance, plan, str(body.get("plan_hash", "")), ok))
        return
    if name == c.EVENT_ROLLOUT_DECISION:
        out.decisions.append(StoredDecision(instance, time_ns, parse_decision(body)))
        return
    attributes = attributes_dict(record.get("attributes"))
    if c.BATCH_SIZE in attributes:  # the guard compares single calls (see the worker wiring)
        return
    duration = attributes.get(c.DURATION)
    ring, segment = attributes.get(c.DEPLOYMENT_RING), attributes.get(c.SEGMENT)
    if not isinstance(duration, (int, float)) or not isinstance(ring, str) or time_ns <= 0:
        return
    outputs = body.get("outputs")
    out.calls[instance].append(Observation(
        ring=ring, segment=segment if isinstance(segment, str) else c.SEGMENT_UNKNOWN,
        error=attributes.get(c.INFERENCE_OUTCOME) == c.OUTCOME_ERROR,
        duration_s=float(duration), end_ns=time_ns,
        prediction=prediction_of(outputs) if isinstance(outputs, dict) else None,
        inference_id=str(attributes.get(c.INFERENCE_ID, "")) or None,
    ))


def _read_drift(out: StoreRollout, instance: str, body: Mapping[str, Any], time_ns: int) -> None:
    """The facts the worker gave the guard's drift gate (``pipeline/_drift.py``), rebuilt from
    the event body: ring, feature, new state, window bounds, scores."""
    ring, feature, level = body.get("ring"), body.get("feature"), body.get("state")
    if not (isinstance(ring, str) and isinstance(feature, str) and isinstance(level, str)):
        return
    scores = body.get("scores")
    facts = {
        "window_start_ns": text_to_ns(str(body.get("window_start", "1970-01-01T00:00:00Z"))),
        "window_end_ns": text_to_ns(str(body.get("window_end", "1970-01-01T00:00:00Z"))),
        "scores": scores if isinstance(scores, dict) else {},
    }
    out.drift[instance].append(StoredDrift(time_ns, ring, feature, level, facts))


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# ---------------------------------------------------------------------------- recomputing
def recompute(plan: dict[str, Any], calls: Iterable[Observation],
              through_ns: int | None = None) -> Decision | None:
    """The guard's decision over ``calls`` (all of them, or those ended by ``through_ns``)."""
    guard = RolloutGuard.from_plan(plan)
    batch = [o for o in calls if through_ns is None or o.end_ns <= through_ns]
    if not batch:
        return None
    guard.observe_many(batch)
    end = through_ns if through_ns is not None else max(o.end_ns for o in batch)
    guard.look(end + int(plan["look_lag_s"] * 1e9))
    return guard.last_decision


@dataclass(frozen=True)
class Reproduction:
    instance: str
    look: int
    stored_action: str
    recomputed_action: str | None
    reproduced: bool
    max_relative_difference: float
    detail: str


def reproduce(plan: dict[str, Any], calls: list[Observation],
              decisions: list[StoredDecision],
              drift: Sequence[StoredDrift] = ()) -> list[Reproduction]:
    """Replay one process's calls look by look and compare every stored decision.

    One pass: a fresh guard with the same plan gets the calls in end-time order, and the drift
    state changes the process logged before each decision (the worker hands them to the guard
    in the same batch, before it looks), and looks at each stored decision's ``through`` time,
    exactly as the worker's guard did.
    """
    guard = RolloutGuard.from_plan(plan)
    lag = int(plan["look_lag_s"] * 1e9)
    index, told, results = 0, 0, []
    for stored in decisions:
        data = stored.decision
        through = text_to_ns(str(data.get("through", "1970-01-01T00:00:00Z")))
        start = index
        while index < len(calls) and calls[index].end_ns <= through:
            index += 1
        while told < len(drift) and drift[told].time_ns <= stored.time_ns:
            change = drift[told]
            guard.observe_drift(change.ring, change.feature, change.level, change.facts)
            told += 1
        guard.observe_many(calls[start:index])
        guard.look(through + lag)
        results.append(_compare(stored, guard.last_decision))
    return results


def _compare(stored: StoredDecision, decision: Decision | None) -> Reproduction:
    data = stored.decision
    look, action = int(data.get("look", 0)), str(data.get("action"))
    if decision is None:
        return Reproduction(stored.instance, look, action, None, False, math.inf,
                            "no calls before this decision in the store")
    mine = decision.to_dict()
    problems, worst = [], 0.0
    for field_name in ("action", "n_baseline", "n_candidate", "blocked"):
        if mine[field_name] != data.get(field_name):
            problems.append(f"{field_name} {data.get(field_name)} -> {mine[field_name]}")
    drift_of = [(d.get("ring"), d.get("feature"), d.get("level")) for d in data.get("drift", [])]
    if drift_of != [(d.get("ring"), d.get("feature"), d.get("level"))
                    for d in mine.get("drift", [])]:
        problems.append("different drift evidence")
    theirs = {(e["criterion"], e["segment"]): e for e in data.get("evidence", [])}
    ours = {(e["criterion"], e["segment"]): e for e in mine["evidence"]}
    if set(theirs) != set(ours):
        problems.append("different tests: " + ", ".join(
            f"{k[0]}[{k[1]}]" for k in sorted(set(theirs) ^ set(ours))))
    for key in set(theirs) & set(ours):
        a, b = theirs[key]["statistic"], ours[key]["statistic"]
        if a is None or b is None:
            continue
        worst = max(worst, abs(a - b) / max(1.0, abs(a)))
        if theirs[key]["harmful"] != ours[key]["harmful"]:
            problems.append(f"{key[0]}[{key[1]}] harmful differs")
    if worst > _TOLERANCE:
        problems.append(f"statistics differ by {worst:.2g}")
    if problems and data.get("late"):
        problems.append(f"{data['late']} calls reached the guard after their look")
    return Reproduction(stored.instance, look, action, decision.action, not problems, worst,
                        "; ".join(problems) or "same action, sizes and statistics")
