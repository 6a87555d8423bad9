"""The structlog bridge behind ``infertel.get_logger()``; light to import (structlog itself is
imported on first use)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from opentelemetry import trace

from infertel import conventions as c
from infertel._record import LogEvent


def make_structlog_logger(submit: Callable[[LogEvent], object], name: str | None,
                          **initial: Any) -> Any:
    """A structlog logger whose events go to ``submit`` (the background worker), never to I/O.

    It does not touch structlog's global configuration, so an application's own structlog set-up
    keeps working beside it.
    """
    import structlog  # imported on first use: it costs a fifth of `import infertel`

    def hand_off(_logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Any:
        if event_dict.get("exc_info") is True:  # log.exception(...): keep the exception object
            event_dict["exc_info"] = sys.exc_info()[1]
        span_context = trace.get_current_span().get_span_context()
        submit(
            LogEvent(
                dict(event_dict),
                method,
                time.time_ns(),
                span_context.trace_id,
                span_context.span_id,
                span_context.trace_flags.sampled,
            )
        )
        raise structlog.DropEvent

    processors: list[Any] = [hand_off]
    if name:
        initial.setdefault(c.LOGGER_NAME, name)
    return structlog.wrap_logger(
        None,
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(0),
        **initial,
    )
