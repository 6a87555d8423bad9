"""Rollout safety: canary versus stable by pre-registered sequential tests.

``RolloutGuard`` compares a candidate ring with the baseline ring on pre-registered criteria
(``ErrorRate``, ``Latency``, ``PredictionShift``, ``Calibration``), each a mixture SPRT whose
p-values stay valid under continuous monitoring, per segment with a Bonferroni correction over
the whole family, after a sample-ratio-mismatch check. ``DriftAlerts`` (no SPRT, outside the
family) rolls back on a drift alert in the candidate ring that the baseline ring does not
share. Decisions (``continue`` / ``promote`` / ``rollback``) carry their evidence and go to a
hash-chained audit log; a rollback flips the switch ``active_version()`` reads and calls
``on_rollback`` once, off the request path.

This package imports nothing heavy and no other infertel layer-2 package.
"""

from __future__ import annotations

from infertel.rollout._audit import AuditLog, ChainReport, verify_chain, verify_file
from infertel.rollout._cells import Cell, Observation
from infertel.rollout._criteria import Calibration, Criterion, ErrorRate, Latency, PredictionShift
from infertel.rollout._decision import (
    ALL_SEGMENTS,
    CONTINUE,
    PROMOTE,
    ROLLBACK,
    Decision,
    Evidence,
    SrmCheck,
)
from infertel.rollout._drift_gate import DriftAlerts, DriftEvidence
from infertel.rollout._guard import STATE_VALUES, RolloutGuard
from infertel.rollout._plan import canonical_json
from infertel.rollout._registry import current_inference_id, record_outcome
from infertel.rollout._switch import RoutingSwitch, active_version

__all__ = [
    "ALL_SEGMENTS",
    "CONTINUE",
    "PROMOTE",
    "ROLLBACK",
    "STATE_VALUES",
    "AuditLog",
    "Calibration",
    "Cell",
    "ChainReport",
    "Criterion",
    "Decision",
    "DriftAlerts",
    "DriftEvidence",
    "ErrorRate",
    "Evidence",
    "Latency",
    "Observation",
    "PredictionShift",
    "RolloutGuard",
    "RoutingSwitch",
    "SrmCheck",
    "active_version",
    "canonical_json",
    "current_inference_id",
    "record_outcome",
    "verify_chain",
    "verify_file",
]
