"""RolloutGuard: canary versus stable by pre-registered sequential tests.

The guard is fed finished calls (:class:`Observation`) and looks at them from the background
(``look()``): every look runs each criterion on all traffic and on every tracked segment,
checks the traffic split for a sample-ratio mismatch, and decides ``continue``, ``promote`` or
``rollback``. A rollback flips the routing switch and calls ``on_rollback`` exactly once, on its
own thread.

**Multiplicity.** The family of tests is fixed before the first call: criteria x (all traffic +
segment slots), where the slots are the pre-registered ``segments`` or, if none are given, the
first ``max_segments`` segments seen. Each test runs at ``alpha / family_size`` (Bonferroni).
Because every p-value is always valid, the union bound holds over all looks at once: the
probability that any test ever rolls back a canary no worse than stable is at most ``alpha``.

**Reproducibility.** A look covers the calls that ended at or before ``T - look_lag_s``, where
T is the latest end time the guard has been handed (not the wall clock, so a backlog in the
worker's queue does not matter; calls from other serving threads get ``look_lag_s`` to catch up
with the one that ended last), applied in end-time order. The decision records that bound
(``through``), so the same comparison can be recomputed from the exported calls; a call that
reached the guard after its look had passed is counted in ``late`` (then the recomputation may
differ by those calls).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from infertel import conventions as c
from infertel.rollout import _registry
from infertel.rollout._audit import AuditLog
from infertel.rollout._callbacks import CallbackRunner
from infertel.rollout._cells import Cell, Observation
from infertel.rollout._criteria import (
    Criterion,
    ErrorRate,
    Latency,
    criterion_from_plan,
    difference,
    evaluate,
)
from infertel.rollout._decision import (
    ALL_SEGMENTS,
    CONTINUE,
    PROMOTE,
    ROLLBACK,
    Action,
    Decision,
    Evidence,
    SrmCheck,
)
from infertel.rollout._drift_gate import DriftAlerts, DriftGate, describe
from infertel.rollout._plan import PLAN_VERSION, canonical_json, plan_hash
from infertel.rollout._stats import chi_square_srm
from infertel.rollout._switch import RoutingSwitch, set_active

# A segment label must look like a label: anything else (an e-mail, a sentence) is not used.
_SEGMENT_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
SEGMENT_OTHER = "__other__"
SEGMENT_INVALID = "__invalid__"
# Values of the ``ml.rollout.state`` metric.
STATE_VALUES = dict(c.ROLLOUT_STATE_VALUES)
_MAX_PENDING = 200_000
_MAX_OUTCOMES = 100_000
_MAX_LABELLED = 50_000  # calls remembered for labels that arrive later
_OUTCOME_LOOKS = 200  # looks a label waits for its call to reach the guard

Callback = Callable[[Decision], object]


class RolloutGuard:
    """Pre-registered canary analysis. Frozen once built: its plan and hash never change."""

    def __init__(
        self,
        *,
        baseline_ring: str = "stable",
        candidate_ring: str = "canary",
        criteria: Sequence[Criterion | DriftAlerts] = (ErrorRate(), Latency()),
        alpha: float = 0.05,
        min_samples: int = 200,
        candidate_share: float | None = None,
        segments: Sequence[str] | None = None,
        max_segments: int = 8,
        max_samples: int | None = None,
        auto_promote: bool = True,
        srm_threshold: float = 0.001,
        on_rollback: Callback | None = None,
        on_promote: Callback | None = None,
        audit_path: str | None = None,
        flag_key: str = "infertel.rollout",
        look_lag_s: float = 1.0,
        report_every_s: float = 10.0,
    ) -> None:
        if not 0 < alpha < 1:
            raise ValueError("alpha must lie in (0, 1)")
        if not criteria:
            raise ValueError("a rollout needs at least one criterion")
        if baseline_ring == candidate_ring:
            raise ValueError("baseline_ring and candidate_ring must differ")
        if candidate_share is not None and not 0 < candidate_share < 1:
            raise ValueError("candidate_share must lie in (0, 1)")
        if min_samples < 2 or max_segments < 0 or look_lag_s < 0:
            raise ValueError("min_samples >= 2, max_segments >= 0 and look_lag_s >= 0")
        names = [c.name for c in criteria]
        if len(set(names)) != len(names):
            raise ValueError("each criterion may appear once")
        seg_list = None if segments is None else tuple(sorted(set(segments)))
        # Every string in the plan is a label of this shape: the plan and the decisions are
        # exported, so they must not be able to carry free text.
        labels = [baseline_ring, candidate_ring, flag_key, *(seg_list or ())]
        if any(not isinstance(x, str) or not _SEGMENT_SHAPE.fullmatch(x) for x in labels):
            raise ValueError("rings, flag_key and segment labels must match "
                             "[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
        slots = len(seg_list) if seg_list is not None else max_segments
        self._all_criteria = tuple(criteria)  # DriftAlerts: in the plan, not in the family
        self._criteria = tuple(c for c in criteria if not isinstance(c, DriftAlerts))
        alerts = [c for c in criteria if isinstance(c, DriftAlerts)]
        self._drift = DriftGate(alerts[0], baseline_ring, candidate_ring) if alerts else None
        self._family = len(self._criteria) * (1 + slots)
        self._alpha_test = alpha / max(1, self._family)
        self._plan: dict[str, Any] = {
            "version": PLAN_VERSION,
            "baseline_ring": baseline_ring,
            "candidate_ring": candidate_ring,
            "criteria": [c.plan() for c in self._all_criteria],
            "alpha": alpha,
            "multiplicity": "bonferroni",
            "family_size": self._family,
            "alpha_per_test": float(format(self._alpha_test, ".10g")),  # (display: 10 digits)
            "min_samples": min_samples,
            "candidate_share": candidate_share,
            "segments": list(seg_list) if seg_list is not None else None,
            "max_segments": max_segments,
            "max_samples": max_samples,
            "auto_promote": auto_promote,
            "srm": {"test": "chi-square-gof", "threshold": srm_threshold},
            "flag_key": flag_key,
            "look_lag_s": look_lag_s,
        }
        self._plan_json = canonical_json(self._plan)
        self._plan_hash = plan_hash(self._plan)
        self._baseline, self._candidate = baseline_ring, candidate_ring
        self._min_samples = min_samples
        self._share = candidate_share
        self._segments = seg_list
        self._max_segments = max_segments
        self._max_samples = max_samples
        self._auto_promote = auto_promote
        self._srm_threshold = srm_threshold
        self._lag_ns = int(look_lag_s * 1e9)
        self._report_ns = int(report_every_s * 1e9)
        self._on = {ROLLBACK: on_rollback, PROMOTE: on_promote}

        self._lock = threading.Lock()
        self._pending: list[Observation] = []
        self._outcomes: deque[tuple[str, float, int]] = deque(maxlen=_MAX_OUTCOMES)
        self._labelled: OrderedDict[str, tuple[str, str, float]] = OrderedDict()
        self._cells: dict[tuple[str, str], Cell] = {}
        self._tracked: list[str] = []
        self._running_p: dict[tuple[str, str], float] = {}
        self._through_ns = 0
        self._max_end = 0
        self._look = 0
        self._late = 0
        self.dropped = 0
        self._last: Decision | None = None
        self._last_emitted: Decision | None = None
        self.switch = RoutingSwitch(flag_key, baseline_ring, candidate_ring,
                                    candidate_share if candidate_share is not None else 0.5)
        self.audit = AuditLog(audit_path)
        self._callbacks = CallbackRunner(self.audit)
        self.audit.append("plan", {"plan_hash": self._plan_hash, "plan": self.plan})

    @classmethod
    def from_plan(cls, plan: dict[str, Any], **runtime: Any) -> RolloutGuard:
        """A guard with exactly this plan (its hash must come out the same), e.g. to replay a
        store; ``runtime`` takes the settings outside the plan (callbacks, audit path...)."""
        guard = cls(
            baseline_ring=plan["baseline_ring"], candidate_ring=plan["candidate_ring"],
            criteria=[criterion_from_plan(entry) for entry in plan["criteria"]],
            alpha=plan["alpha"], min_samples=plan["min_samples"],
            candidate_share=plan["candidate_share"], segments=plan["segments"],
            max_segments=plan["max_segments"], max_samples=plan["max_samples"],
            auto_promote=plan["auto_promote"], srm_threshold=plan["srm"]["threshold"],
            flag_key=plan["flag_key"], look_lag_s=plan["look_lag_s"], **runtime)
        if guard.plan_hash != plan_hash(plan):
            raise ValueError("this plan does not rebuild to the same hash (another version?)")
        return guard

    # ------------------------------------------------------------------ the frozen plan
    @property
    def plan(self) -> dict[str, Any]:
        """A copy of the pre-registered plan (editing it changes nothing)."""
        import json

        copy: dict[str, Any] = json.loads(self._plan_json)
        return copy

    @property
    def plan_json(self) -> str:
        return self._plan_json

    @property
    def plan_hash(self) -> str:
        return self._plan_hash

    @property
    def criteria(self) -> tuple[Criterion | DriftAlerts, ...]:
        return self._all_criteria

    @property
    def baseline_ring(self) -> str:
        return self._baseline

    @property
    def candidate_ring(self) -> str:
        return self._candidate

    @property
    def alpha_per_test(self) -> float:
        return self._alpha_test

    @property
    def state(self) -> str:
        """``running``, ``rolled_back`` or ``promoted``."""
        return self.switch.state

    @property
    def last_decision(self) -> Decision | None:
        return self._last

    def state_value(self) -> int:
        """The ``ml.rollout.state`` value: 0 continue, 1 promote, 2 rollback, 3 blocked (SRM)."""
        last = self._last
        if last is None:
            return 0
        return STATE_VALUES["blocked" if last.blocked else last.action]

    def activate(self) -> None:
        """Make this guard's switch what ``infertel.rollout.active_version()`` reads."""
        _registry.activate(self)
        set_active(self.switch)

    # ------------------------------------------------------------------ feeding
    def observe(self, obs: Observation) -> None:
        """Hand one finished call to the guard (cheap; the work happens in ``look``)."""
        self.observe_many((obs,))

    def observe_many(self, observations: Iterable[Observation]) -> None:
        batch = list(observations)
        with self._lock:
            room = max(0, _MAX_PENDING - len(self._pending))
            kept = batch[:room]
            self._pending.extend(kept)
            self.dropped += len(batch) - len(kept)
            for obs in kept:
                if obs.end_ns > self._max_end:
                    self._max_end = obs.end_ns

    def observe_drift(self, ring: str, feature: str, level: str,
                      facts: dict[str, Any] | None = None) -> bool:
        """A drift state change for ``DriftAlerts`` (no SPRT, outside the Bonferroni family;
        see ``DriftGate.observe``): thread-safe, bounded, never raises; False if not kept."""
        return self._drift.observe(ring, feature, level, facts) if self._drift else False

    def record_outcome(self, inference_id: str, label: float) -> None:
        """A label for an earlier call (``0``/``1`` or a probability); used by Calibration."""
        self._outcomes.append((str(inference_id), float(label), 0))

    # ------------------------------------------------------------------ looking
    def look(self, now_ns: int | None = None) -> Decision | None:
        """Evaluate everything that ended ``look_lag_s`` before ``now_ns`` (default: the
        latest end time handed to the guard).

        Returns the decision when it should be reported (a change of action or of the SRM
        hold, a terminal decision, or ``report_every_s`` of data since the last report);
        ``None`` otherwise, and always ``None`` once the rollout has ended or before any call.
        """
        if self.switch.state != "running":
            return None
        now = self._max_end if now_ns is None else now_ns
        if now <= 0:
            return None
        through = now - self._lag_ns
        with self._lock:
            ready = [o for o in self._pending if o.end_ns <= through]
            self._pending = [o for o in self._pending if o.end_ns > through]
        ready.sort(key=lambda o: o.end_ns)
        self._apply(ready, max(through, self._through_ns))
        decision = self._decide()
        self._last = decision
        if decision.action != CONTINUE and self.switch.flip(
                "rolled_back" if decision.action == ROLLBACK else "promoted"):
            self._report(decision)
            self._callbacks.fire(self._on[decision.action], decision)
            return decision
        previous = self._last_emitted
        if (previous is None or previous.blocked != decision.blocked
                or decision.through_ns - previous.through_ns >= self._report_ns):
            self._report(decision)
            return decision
        return None

    def _report(self, decision: Decision) -> None:
        self._last_emitted = decision
        self.audit.append("decision", decision.to_dict())

    def _apply(self, ready: list[Observation], through: int) -> None:
        for obs in ready:
            if obs.end_ns <= self._through_ns:
                self._late += 1
            ring = obs.ring
            if ring != self._baseline and ring != self._candidate:
                continue
            segment = self._slot(obs.segment)
            self._cell(ring, ALL_SEGMENTS).add(obs)
            if segment is not None:
                self._cell(ring, segment).add(obs)
            if obs.inference_id is not None and obs.prediction is not None and not obs.error:
                self._labelled[obs.inference_id] = (ring, obs.segment, obs.prediction)
                if len(self._labelled) > _MAX_LABELLED:
                    self._labelled.popitem(last=False)
        waiting: list[tuple[str, float, int]] = []
        while self._outcomes:
            inference_id, label, looks = self._outcomes.popleft()
            call = self._labelled.pop(inference_id, None)
            if call is None:
                # The call may not have reached a look yet (queue, lag): try a few more looks.
                if looks < _OUTCOME_LOOKS:
                    waiting.append((inference_id, label, looks + 1))
                continue
            ring, raw_segment, prediction = call
            self._cell(ring, ALL_SEGMENTS).add_outcome(prediction, label)
            segment = self._slot(raw_segment)
            if segment is not None:
                self._cell(ring, segment).add_outcome(prediction, label)
        self._outcomes.extend(waiting)
        self._through_ns = through
        self._look += 1

    def _slot(self, segment: str) -> str | None:
        """The segment's own test slot, or None (counted in all traffic only)."""
        if not _SEGMENT_SHAPE.fullmatch(segment):
            return None
        if self._segments is not None:
            return segment if segment in self._segments else None
        if segment in self._tracked:
            return segment
        if len(self._tracked) < self._max_segments:
            self._tracked.append(segment)
            return segment
        return None

    def _cell(self, ring: str, segment: str) -> Cell:
        cell = self._cells.get((ring, segment))
        if cell is None:
            cell = self._cells[(ring, segment)] = Cell()
        return cell

    def _decide(self) -> Decision:
        base_all = self._cell(self._baseline, ALL_SEGMENTS)
        cand_all = self._cell(self._candidate, ALL_SEGMENTS)
        srm = self._srm(base_all.n, cand_all.n)
        evidence = self._evidence()
        common: dict[str, Any] = {
            "plan_hash": self._plan_hash, "look": self._look, "through_ns": self._through_ns,
            "n_baseline": base_all.n, "n_candidate": cand_all.n,
            "evidence": tuple(evidence), "srm": srm, "late": self._late,
        }
        if srm is not None and srm.mismatch:
            return Decision(CONTINUE, f"hold: sample-ratio mismatch (chi-square p = "
                            f"{srm.p_value:.2g} < {self._srm_threshold})", blocked=True, **common)
        drift = tuple(self._drift.breaches()) if self._drift is not None else ()
        if drift:
            return Decision(ROLLBACK, "; ".join(map(describe, drift)), drift=drift, **common)
        harmful = [e for e in evidence if e.harmful]
        if harmful:
            return Decision(ROLLBACK, "; ".join(_describe(e) for e in harmful), **common)
        action, reason = self._promotion(evidence, cand_all.n)
        return Decision(action, reason, **common)

    def _promotion(self, evidence: list[Evidence], n_candidate: int) -> tuple[Action, str]:
        if not self._auto_promote:
            return CONTINUE, "no harm detected; promotion is manual"
        if self._max_samples is not None and n_candidate >= self._max_samples:
            return PROMOTE, f"horizon of {self._max_samples} candidate calls reached, no harm"
        if not self._criteria:  # drift alerts alone never show non-inferiority
            return CONTINUE, "no drift alert; promotion waits for the horizon"
        # Every criterion on all traffic, and on every segment that has reached its minimum:
        # a segment guardrail that cannot rule out harm holds the promotion too.
        overall = {e.criterion for e in evidence if e.segment == ALL_SEGMENTS}
        waiting = [c.name for c in self._criteria if c.name not in overall]
        waiting += [e.criterion if e.segment == ALL_SEGMENTS else f"{e.criterion}[{e.segment}]"
                    for e in evidence if not e.non_inferior]
        if waiting:
            return CONTINUE, "no harm detected; not yet non-inferior: " + ", ".join(waiting)
        return PROMOTE, ("every criterion non-inferior within its margin (always-valid "
                         "interval), on all traffic and every segment tested")

    def _srm(self, n_a: int, n_b: int) -> SrmCheck | None:
        if self._share is None or n_a + n_b < 2 * self._min_samples:
            return None
        statistic, p_value = chi_square_srm((n_a, n_b), (1.0 - self._share, self._share))
        return SrmCheck(n_a, n_b, self._share, statistic, p_value, self._srm_threshold,
                        p_value < self._srm_threshold)

    def _evidence(self) -> list[Evidence]:
        """Every criterion on all traffic and each tracked segment, at the current look."""
        segments = [ALL_SEGMENTS, *(self._segments if self._segments is not None
                                    else sorted(self._tracked))]
        out: list[Evidence] = []
        empty = Cell()
        for criterion in self._criteria:
            for segment in segments:
                a = self._cells.get((self._baseline, segment), empty)
                b = self._cells.get((self._candidate, segment), empty)
                diff = difference(criterion, a, b, self._min_samples)
                if diff is None:
                    continue
                key = (criterion.name, segment)
                found = evaluate(criterion, segment, diff, self._alpha_test,
                                 self._running_p.get(key, 1.0))
                self._running_p[key] = found.p_value
                out.append(found)
        return out

    def cells(self) -> dict[tuple[str, str], Cell]:
        """The sufficient statistics so far, by (ring, segment) (``*`` is all traffic)."""
        return dict(self._cells)

    # ------------------------------------------------------------------ ending
    def wait_for_callbacks(self, timeout: float = 5.0) -> bool:
        return self._callbacks.join(timeout)

    @property
    def callback_results(self) -> list[dict[str, Any]]:
        return list(self._callbacks.results)

    def audit_entries(self) -> list[dict[str, Any]]:
        return self.audit.entries()


def _describe(e: Evidence) -> str:
    where = "all traffic" if e.segment == ALL_SEGMENTS else f"segment {e.segment}"
    return (f"{e.criterion} worse in {where}: difference {e.estimate:+.4g}, always-valid "
            f"p {e.p_value:.2g} <= {e.alpha:.2g}")
