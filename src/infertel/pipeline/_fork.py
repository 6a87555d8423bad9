"""What a forked child does with the metric readers its parent's MeterProvider left it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader


def quiesce_inherited_readers(provider: MeterProvider, given: Sequence[MetricReader]) -> None:
    """In a forked child, before it builds its own pipeline.

    OpenTelemetry's own fork hook restarts the parent's periodic reader in the child, which
    would export the parent's cumulative counts again under the child's name. Readers infertel
    made are set to collect nothing and to stop; readers the caller passed in are released, so
    the child's new MeterProvider can take them. These are private SDK fields: the fork tests
    (tests/lifecycle) pin the behaviour against the installed SDK.
    """
    readers = getattr(getattr(provider, "_sdk_config", None), "metric_readers", ())
    registered = getattr(MeterProvider, "_all_metric_readers", None)
    for reader in readers:
        if reader in given:
            if registered is not None:
                registered.discard(reader)
            continue
        reader._set_collect_callback(_collect_nothing)
        stop = getattr(reader, "_shutdown_event", None)
        if stop is not None:
            stop.set()


def _collect_nothing(*_args: Any, **_kwargs: Any) -> None:
    return None
