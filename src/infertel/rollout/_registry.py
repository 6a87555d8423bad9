"""The process's active guard, for ``infertel.rollout.record_outcome()``.

Labels arrive from application code (a feedback endpoint, a batch join) with only an inference
id; this module routes them to the guard that saw the call.
"""

from __future__ import annotations

from typing import Protocol


class _TakesOutcomes(Protocol):
    def record_outcome(self, inference_id: str, label: float) -> None: ...


_current: _TakesOutcomes | None = None


def activate(guard: _TakesOutcomes | None) -> None:
    global _current
    _current = guard


def current() -> _TakesOutcomes | None:
    return _current


def record_outcome(inference_id: str, label: float | bool) -> bool:
    """Hand a late label to the active guard; False when there is none (nothing raised)."""
    guard = _current
    if guard is None:
        return False
    try:
        guard.record_outcome(inference_id, float(label))
    except (TypeError, ValueError):  # a label that is not a number is not a label
        return False
    return True


def current_inference_id() -> str | None:
    """Inside a ``@traced_inference`` call: the id its exported records carry
    (``ml.inference.id``), to pass to :func:`record_outcome` when the label arrives."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.span_id, "016x") if context.is_valid else None
