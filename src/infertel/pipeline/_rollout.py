"""The rollout guard wired into one Telemetry (``configure(rollout=RolloutGuard(...))``).

* every call: ``feature_flag.key`` / ``feature_flag.result.variant`` (the ring it ran in) on its
  span and log record, set before the signals are built (:meth:`annotate`);
* every worker batch, after signals: the scrubbed calls become guard observations, the guard
  looks, and a reported decision becomes an ``ml.rollout.decision`` log record
  (:meth:`observe`); a rollback's callback runs on the guard's own thread;
* at configure: the ``ml.rollout.plan`` event, once; the ``ml.rollout.state`` gauge, read at
  collection time.

The guard sees only what crossed the privacy boundary (ring, scrubbed segment, outcome,
duration, the first numeric output the policy let through); its events hold numbers and labels
the guard validated (``[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}``), nothing else. Nothing here raises
into the worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk._logs import ReadableLogRecord

from infertel import conventions as c
from infertel._provenance import ModelInfo
from infertel._record import ScrubbedCall
from infertel.rollout import Observation as CallObservation
from infertel.rollout import RolloutGuard
from infertel.rollout._cells import prediction_of
from infertel.rollout._events import decision_event, plan_event
from infertel.signals.logs import LogBuilder


class RolloutWiring:
    __slots__ = ("_flag", "_logs", "_model", "guard")

    def __init__(self, guard: RolloutGuard, logs: LogBuilder, model: ModelInfo | None) -> None:
        self.guard = guard
        self._logs = logs
        self._model = model
        self._flag = guard.switch.key
        guard.activate()  # active_version() and record_outcome() now reach this guard

    def _attributes(self) -> dict[str, Any]:
        model = self._model
        return {c.MODEL_NAME: model.name, c.MODEL_VERSION: model.version} if model else {}

    def annotate(self, call: ScrubbedCall) -> None:
        attributes = call.attributes
        attributes[c.FEATURE_FLAG_KEY] = self._flag
        attributes[c.FEATURE_FLAG_VARIANT] = attributes.get(c.DEPLOYMENT_RING)

    def observe(self, calls: list[ScrubbedCall]) -> list[ReadableLogRecord]:
        guard = self.guard
        guard.observe_many(_observations(calls))
        decision = guard.look()
        if decision is None:
            return []
        body, attributes = decision_event(decision)
        return [self._event(c.EVENT_ROLLOUT_DECISION, body, attributes, time.time_ns(),
                            "warn" if decision.action == "rollback" else "info")]

    def plan_builder(self, time_ns: int) -> Callable[[], ReadableLogRecord]:
        body, attributes = plan_event(self.guard.plan)
        return lambda: self._event(c.EVENT_ROLLOUT_PLAN, body, attributes, time_ns, "info")

    def _event(self, name: str, body: dict[str, Any], attributes: dict[str, Any],
               time_ns: int, severity: str) -> ReadableLogRecord:
        # Built from scrubbed calls and the plan (numbers, and labels the guard validated):
        # nothing to scrub, and scanning would corrupt the canonical JSON (a 19-digit
        # nanosecond time can pass for a card number).
        return self._logs.event(name, body, {**self._attributes(), **attributes}, time_ns,
                                severity=severity)

    def register_metrics(self, meter: Meter) -> None:
        guard = self.guard
        attributes = {**{k: v for k, v in self._attributes().items() if k == c.MODEL_NAME},
                      c.DEPLOYMENT_RING: guard.candidate_ring}

        def observe_state(_options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(guard.state_value(), attributes)]

        meter.create_observable_gauge(
            c.METRIC_ROLLOUT_STATE, [observe_state], unit="{state}",
            description="Rollout guard: 0 continue, 1 promote, 2 rollback, 3 held (SRM)")


def _observations(calls: list[ScrubbedCall]) -> list[CallObservation]:
    out = []
    for call in calls:
        attributes = call.attributes
        ring = attributes.get(c.DEPLOYMENT_RING)
        # Batch calls are not compared: their latency grows with the batch.
        if not isinstance(ring, str) or c.BATCH_SIZE in attributes:
            continue
        segment = attributes.get(c.SEGMENT)
        out.append(CallObservation(
            ring=ring, segment=segment if isinstance(segment, str) else c.SEGMENT_UNKNOWN,
            error=attributes.get(c.INFERENCE_OUTCOME) == c.OUTCOME_ERROR,
            duration_s=call.duration_s, end_ns=call.end_ns,
            prediction=None if call.exception is not None else prediction_of(call.outputs),
            inference_id=str(attributes.get(c.INFERENCE_ID, "")) or None))
    return out
