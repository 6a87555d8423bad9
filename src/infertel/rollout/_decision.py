"""What a look at the rollout produces: evidence per test, a decision, the SRM check.

Plain frozen records with a ``to_dict()`` that holds only numbers, criterion and segment labels
and the plan hash: these go into log events, the audit log and CLI output, so they must never
carry request data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final, Literal

Action = Literal["continue", "promote", "rollback"]

CONTINUE: Final = "continue"
PROMOTE: Final = "promote"
ROLLBACK: Final = "rollback"

# The segment label of the test over all traffic (segment guardrails use their own label).
ALL_SEGMENTS: Final = "*"


def _round(value: float) -> float | None:
    """JSON-safe floats: NaN and infinities (a zero variance) become None; ten significant
    digits, so no exported number is a run of 13+ digits (which a scanner rightly reads as a
    possible card number)."""
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return float(format(value, ".10g"))


def ns_to_text(time_ns: int) -> str:
    """Nanoseconds since the epoch as exact UTC text (``2026-01-01T00:00:00.000000001Z``): no
    19-digit integer in exported events."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def text_to_ns(text: str) -> int:
    """The inverse of :func:`ns_to_text`."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    moment = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(moment.timestamp()) * 1_000_000_000 + int(fraction.ljust(9, "0")[:9] or 0)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One sequential test at one look: criterion x segment."""

    criterion: str
    test: str
    segment: str
    estimate: float  # candidate minus baseline, in the criterion's unit
    statistic: float  # log of the mixture likelihood ratio at this look
    p_value: float  # always-valid p-value (running minimum over this test's looks)
    alpha: float  # the per-test level after the multiplicity correction
    lower: float  # always-valid confidence interval for the difference
    upper: float
    n_baseline: int
    n_candidate: int
    harmful: bool  # the test rejected in the harmful direction
    non_inferior: bool  # the interval rules out harm larger than the criterion's margin

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "test": self.test,
            "segment": self.segment,
            "estimate": _round(self.estimate),
            "statistic": _round(self.statistic),
            "p_value": _round(self.p_value),
            "alpha": _round(self.alpha),
            "ci": [_round(self.lower), _round(self.upper)],
            "n_baseline": self.n_baseline,
            "n_candidate": self.n_candidate,
            "harmful": self.harmful,
            "non_inferior": self.non_inferior,
        }


@dataclass(frozen=True, slots=True)
class SrmCheck:
    """Sample-ratio mismatch of the traffic split (chi-square goodness of fit)."""

    n_baseline: int
    n_candidate: int
    expected_candidate_share: float
    statistic: float
    p_value: float
    threshold: float
    mismatch: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": "chi-square-gof",
            "n_baseline": self.n_baseline,
            "n_candidate": self.n_candidate,
            "expected_candidate_share": self.expected_candidate_share,
            "statistic": _round(self.statistic),
            "p_value": _round(self.p_value),
            "threshold": self.threshold,
            "mismatch": self.mismatch,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The guard's verdict at one look, with everything needed to check it."""

    action: Action
    reason: str
    plan_hash: str
    look: int
    through_ns: int  # the look covers calls that ended at or before this time
    n_baseline: int
    n_candidate: int
    evidence: tuple[Evidence, ...] = ()
    srm: SrmCheck | None = None
    blocked: bool = False  # a sample-ratio mismatch holds every decision
    late: int = 0  # calls that reached the guard after their look had passed
    drift: tuple[Any, ...] = ()  # DriftEvidence of a DriftAlerts rollback (not an SPRT)

    @property
    def triggered(self) -> tuple[Evidence, ...]:
        """The tests that decided a rollback."""
        return tuple(e for e in self.evidence if e.harmful)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "reason": self.reason,
            "plan_hash": self.plan_hash,
            "look": self.look,
            "through": ns_to_text(self.through_ns),
            "n_baseline": self.n_baseline,
            "n_candidate": self.n_candidate,
            "blocked": self.blocked,
            "late": self.late,
            "srm": self.srm.to_dict() if self.srm is not None else None,
            "evidence": [e.to_dict() for e in self.evidence],
            # Only when the drift criterion fired, so other decisions keep their shape.
            **({"drift": [d.to_dict() for d in self.drift]} if self.drift else {}),
        }


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """How an ``on_rollback`` / ``on_promote`` callback ended (type name only, never text)."""

    action: Action
    ok: bool
    error_type: str | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
