"""The ``ml.rollout.plan`` and ``ml.rollout.decision`` log events, built and parsed here.

The pipeline turns these (body, attributes) pairs into log records; ``infertel rollout status``
parses them back from a store. Bodies carry the canonical JSON text, so a reader can check the
plan against its hash and rebuild the decision exactly (an OTLP map would not keep ``null``
values or the difference between ``1`` and ``1.0``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from infertel import conventions as c
from infertel.rollout._decision import Decision
from infertel.rollout._plan import canonical_json, plan_hash


def plan_event(plan: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Body and attributes of the ``ml.rollout.plan`` event."""
    digest = plan_hash(dict(plan))
    body = {"event": c.EVENT_ROLLOUT_PLAN, "plan_hash": digest, "plan_json": canonical_json(plan)}
    return body, {c.ROLLOUT_PLAN_HASH: digest}


def decision_event(decision: Decision) -> tuple[dict[str, Any], dict[str, Any]]:
    """Body and attributes of an ``ml.rollout.decision`` event."""
    # "decision" and "reason" repeat the JSON's for readers that show events as they are
    # (infertel report's timeline, a log viewer).
    body = {"event": c.EVENT_ROLLOUT_DECISION, "plan_hash": decision.plan_hash,
            "decision": decision.action, "reason": decision.reason,
            "decision_json": canonical_json(decision.to_dict())}
    attributes: dict[str, Any] = {
        c.ROLLOUT_DECISION: decision.action,
        c.ROLLOUT_PLAN_HASH: decision.plan_hash,
    }
    triggered = sorted({e.criterion for e in decision.triggered}
                       | {"drift_alerts" for _ in decision.drift[:1]})
    if triggered:
        attributes[c.ROLLOUT_CRITERION] = triggered
    return body, attributes


def parse_plan(body: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The plan in an event body, and whether it matches the hash it was logged with."""
    plan: dict[str, Any] = json.loads(str(body.get("plan_json", "{}")))
    return plan, plan_hash(plan) == body.get("plan_hash")


def parse_decision(body: Mapping[str, Any]) -> dict[str, Any]:
    decision: dict[str, Any] = json.loads(str(body.get("decision_json", "{}")))
    return decision
