"""The small hand-off the hot path needs: the process default pipeline, seen through a protocol.

The decorator reads ``current`` on every call and ``get_logger()`` hands events to it, so
importing infertel and decorating functions never loads the OpenTelemetry SDK: that happens at
``configure()``. The protocol keeps this layer free of any import of the pipeline itself.
"""

from __future__ import annotations

from typing import Any, Protocol


class PipelineHandle(Protocol):
    """What the serving thread may use of a configured pipeline (``infertel.Telemetry``)."""

    enabled: bool
    # Undeclared parameters are snapshotted only when the policy's default action wants them.
    capture_undeclared: bool
    # ``None``: ParentBased(always_on), decided inline on the hot path.
    sampler: Any
    id_generator: Any
    # ``None`` unless drift monitoring is configured: then ``drift_capture(spec, args, kwargs)``
    # snapshots the drift feature paths (hotpath/_drift.py).
    drift_capture: Any

    @property
    def raise_internal_errors(self) -> bool: ...

    def submit(self, item: object) -> bool: ...

    def should_sample(self, parent: Any, parent_span: Any, trace_id: int, name: str) -> bool: ...

    def internal_error(self, error: BaseException, *, reraise: bool = True) -> None: ...

    def callback_error(self, error: BaseException) -> None: ...


current: PipelineHandle | None = None


class InternalError(RuntimeError):
    """An SDK-internal failure, raised only when ``raise_internal_errors`` is on (tests)."""


def submit_log(event: object) -> object:
    """Hand a structured log event to the process default (dropped while there is none)."""
    pipeline = current
    if pipeline is not None and pipeline.enabled:
        return pipeline.submit(event)
    return False
