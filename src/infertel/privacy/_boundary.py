"""The privacy boundary for what the serving thread hands over: inference records and log events.

``Boundary.scrub_call(record) -> ScrubbedCall`` is the only code that reads a record's raw
payload, exception, segment, trace state and names; spans, logs, metrics and monitors are built
from the ``ScrubbedCall`` it returns. ``scrub_log_event`` does the same for ``get_logger()``
events. Fail closed: if scrubbing a record raises or runs out of budget, its payload becomes
``<REDACTION_FAILED>`` (never an echo of what it replaced) and the failure is counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from infertel import conventions as c
from infertel._provenance import ModelInfo
from infertel._record import (
    ArraySnapshot,
    ExceptionText,
    InferenceRecord,
    LogEvent,
    ScrubbedCall,
    exception_message,
    exception_stacktrace,
    exception_type_name,
)
from infertel.privacy._actions import apply_actions
from infertel.privacy._keys import fits_shape
from infertel.privacy._policy import PrivacyPolicy
from infertel.privacy._scrubber import REDACTION_FAILED, Scrubber, ScrubContext
from infertel.privacy._stacks import StackTexts

# Names from code (span, model, version, logger) are scrubbed once each, under this budget.
NAME_BUDGET_S = 5.0
_MAX_NAMES = 10_000
# Prediction values of one batch call recorded at most.
_MAX_PREDICTIONS = 1000
# Actions under which an output's number may reach ml.prediction.value as a number.
_NUMERIC_EXPORT = frozenset({"keep", "redact"})


class Boundary:
    """One policy applied to every record and event crossing from the hot path."""

    __slots__ = ("_finds_nothing", "_names", "_segments_seen", "_stacks", "binner", "model",
                 "policy", "ring", "scrubber")

    def __init__(self, policy: PrivacyPolicy, scrubber: Scrubber, *, ring: str,
                 model: ModelInfo | None) -> None:
        self.policy = policy
        self.scrubber = scrubber
        self.ring = ring
        self.model = model
        self._names: dict[str, str] = {}
        self._segments_seen: set[str] = set()
        # Drift binning (raw feature values -> bin indices) runs here, inside the boundary, when
        # monitoring is configured: ``binner(record) -> object`` stored on ``ScrubbedCall.drift``.
        self.binner: Callable[[InferenceRecord], Any] | None = None
        # Exception stack text per code location (issue 12). The windowed scrubbing of its
        # per-call lines holds for pattern detection; NER and custom recognizers scrub the
        # whole text, as before.
        self._stacks = StackTexts()
        self._finds_nothing: Callable[[str], bool] | None = (
            self._clean_for_patterns
            if policy.detection == "patterns" and not policy.custom_recognizers else None)

    # ------------------------------------------------------------------ inference records
    def scrub_call(self, record: InferenceRecord) -> ScrubbedCall:
        scrubber = self.scrubber
        policy = self.policy
        context = ScrubContext(policy.redaction_timeout_s)
        spec = record.spec
        failures_before = scrubber.failures()
        try:
            inputs = apply_actions(_summarised(record.inputs), spec.input_actions, scrubber,
                                   context, policy.default_action)
            outputs = apply_actions(_summarised(record.outputs), spec.output_actions, scrubber,
                                    context)
            segment = self._segment(record.segment, context)
            exception = self._exception(record.exception, context)
            trace_state = self._trace_state(record.trace_state, context)
        except Exception:
            # Fail closed: the payload never leaves raw; the call's metadata still does.
            scrubber.count_failure()
            inputs = dict.fromkeys(record.inputs or (), REDACTION_FAILED) or None
            outputs = dict.fromkeys(record.outputs or (), REDACTION_FAILED) or None
            segment = c.SEGMENT_UNKNOWN
            exception = None if record.exception is None else ExceptionText(
                _type_name(record.exception), REDACTION_FAILED, REDACTION_FAILED)
            trace_state = ()
        attributes = self._call_attributes(record, segment, exception)
        if policy.redaction:
            attributes[c.REDACTION_COUNT] = context.redactions
            if scrubber.failures() != failures_before:
                attributes[c.REDACTION_FAILED] = True
        metric_attributes = {k: v for k, v in attributes.items()
                             if k in c.METRIC_ATTRIBUTE_ALLOWLIST}
        metric_attributes[c.SEGMENT] = self._metric_segment(segment)
        call = ScrubbedCall(
            record, name=self.name(spec.span_name), attributes=attributes,
            metric_attributes=metric_attributes, inputs=inputs, outputs=outputs,
            exception=exception, trace_state=trace_state,
            predictions=self._predictions(record, context))
        binner = self.binner
        if binner is not None:
            call.drift = binner(record)
            # Drift monitoring (issue 10): the span names the baseline schema it was checked by.
            schema_hash = getattr(call.drift, "schema_hash", None)
            if schema_hash is not None:
                call.attributes[c.FEATURE_SCHEMA_HASH] = schema_hash
        return call

    def _call_attributes(self, record: InferenceRecord, segment: str,
                         exception: ExceptionText | None) -> dict[str, Any]:
        spec = record.spec
        attributes: dict[str, Any] = {
            c.INFERENCE_KIND: spec.kind,
            c.CODE_FUNCTION: self.name(spec.static_attributes[c.CODE_FUNCTION]),
            c.DEPLOYMENT_RING: spec.ring or self.ring,
            c.SEGMENT: segment,
            c.INFERENCE_OUTCOME: record.outcome,
            c.INFERENCE_ID: f"{record.span_id:016x}",
        }
        if record.batch_size is not None:
            attributes[c.BATCH_SIZE] = record.batch_size
        if spec.streaming:
            attributes[c.STREAM_ITEMS] = record.items
            if record.first_item_ns is not None:
                attributes[c.STREAM_TIME_TO_FIRST_ITEM] = (
                    record.first_item_ns - record.start_ns) / 1e9
        if exception is not None:
            attributes[c.ERROR_TYPE] = exception.type_name
        model = spec.model or self.model
        if model is not None:
            attributes[c.MODEL_NAME] = self.name(model.name)
            attributes[c.MODEL_VERSION] = self.name(model.version)
        return attributes

    def _segment(self, segment: str | None, context: ScrubContext) -> str:
        if not segment:
            return c.SEGMENT_UNKNOWN
        if self.policy.segment_action == "hash":
            return self.scrubber.pseudonym("SEGMENT", segment)
        if self.policy.redaction:
            return self.scrubber.text(segment, context)
        return segment

    def _metric_segment(self, segment: str) -> str:
        """Bound segment cardinality: the first ``segment_limit`` values, then an overflow."""
        seen = self._segments_seen
        if segment in seen:
            return segment
        if len(seen) >= self.policy.segment_limit:
            return c.SEGMENT_OVERFLOW
        seen.add(segment)
        return segment

    def _exception(self, error: BaseException | None,
                   context: ScrubContext) -> ExceptionText | None:
        if error is None:
            return None
        # --- stack text formatted and scrubbed per code location (issue 12, _stacks.py);
        # the type and message are still read and scrubbed per call.
        type_name, message = exception_type_name(error), exception_message(error)
        if not self.policy.redaction:
            stack = self._stacks.text(error, None)
            return ExceptionText(type_name, message,
                                 exception_stacktrace(error) if stack is None else stack)
        scrubber = self.scrubber
        if not fits_shape(c.EXCEPTION_TYPE, type_name):
            type_name = scrubber.text(type_name, context)
        message = scrubber.text(message, context)
        stack = self._stacks.text(error, lambda text: scrubber.text(text, context),
                                  self._finds_nothing, self.policy.max_text_length)
        if stack is None:
            stack = scrubber.text(exception_stacktrace(error), context)
        return ExceptionText(type_name, message, stack)

    def _clean_for_patterns(self, text: str) -> bool:
        """Pattern detection finds nothing in ``text`` (counts nothing: a probe)."""
        return not self.scrubber.detector.analyze(text)
    # --- end stack text

    def _trace_state(self, state: Any, context: ScrubContext) -> tuple[tuple[str, str], ...]:
        """W3C tracestate entries whose key and value scrubbing leaves unchanged; an entry
        holding personal data is dropped whole (a marker is not a valid tracestate value)."""
        if not state:
            return ()
        if not self.policy.redaction:
            return tuple(state.items())
        kept = []
        for key, value in state.items():
            if (self.scrubber.key(key, context) == key
                    and self.scrubber.text(value, context) == value):
                kept.append((key, value))
        return tuple(kept)

    def _predictions(self, record: InferenceRecord, context: ScrubContext) -> tuple[float, ...]:
        """Numbers for ml.prediction.value: only from a return value or output whose declared
        action lets a number leave as a number (never ``hash``, ``bucket``, ``truncate``)."""
        actions = record.spec.output_actions
        if record.prediction is not None:
            declared = actions.get("return")
            if declared is not None and declared not in _NUMERIC_EXPORT:
                return ()
            return self._numbers(record.prediction, context)
        for path, value in (record.outputs or {}).items():
            if actions.get(path) in _NUMERIC_EXPORT and _is_number(value):
                return self._numbers(value, context)
        return ()

    def _numbers(self, value: Any, context: ScrubContext) -> tuple[float, ...]:
        if isinstance(value, ArraySnapshot):
            value = value.head.tolist()
        values = value if isinstance(value, list) else [value]
        scrubber = self.scrubber
        return tuple(
            float(v) for v in values[:_MAX_PREDICTIONS]
            if _is_number(v) and math.isfinite(v) and scrubber.number(v, context) == v
        )

    # ------------------------------------------------------------------ other crossings
    def name(self, name: str) -> str:
        """A name from code (span, model, version, logger), scrubbed once and remembered."""
        if not self.policy.redaction:
            return name
        scrubbed = self._names.get(name)
        if scrubbed is None:
            try:
                scrubbed = self.scrubber.text(name, ScrubContext(NAME_BUDGET_S))
            except Exception:
                self.scrubber.count_failure()
                scrubbed = REDACTION_FAILED
            if len(self._names) < _MAX_NAMES:
                self._names[name] = scrubbed
        return scrubbed

    def scrub_log_event(self, event: LogEvent) -> LogEvent:
        """A ``get_logger()`` event with every field scrubbed (keys too) and its exception
        formatted and scrubbed here; the log builder gets only the result."""
        fields = dict(event.event)
        exc_info = fields.pop("exc_info", None)
        context = ScrubContext(self.policy.redaction_timeout_s)
        clean: dict[str, Any] = {}
        try:
            message = fields.pop("event", "")
            for key, value in fields.items():
                clean.update(self._attribute(str(key), _plain(value), context))
            clean["event"] = (self.scrubber.value(_plain(message), context)
                              if self.policy.redaction else _plain(message))
            if isinstance(exc_info, BaseException):
                exception = self._exception(exc_info, context)
                assert exception is not None
                clean[c.EXCEPTION_TYPE] = exception.type_name
                clean[c.EXCEPTION_MESSAGE] = exception.message
                clean[c.EXCEPTION_STACKTRACE] = exception.stacktrace
        except Exception:
            self.scrubber.count_failure()
            clean = {"event": REDACTION_FAILED, c.REDACTION_FAILED: True}
        return LogEvent(clean, event.level, event.time_ns, event.trace_id, event.span_id,
                        event.sampled)

    def _attribute(self, key: str, value: Any, context: ScrubContext) -> dict[str, Any]:
        if not self.policy.redaction:
            return {key: value}
        return self.scrubber.attributes({key: value}, context)

    def scrub_attributes(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Attributes from configuration (provenance, resource), under the generous name
        budget; fail closed to the values that fit their key's shape."""
        plain = {str(k): _plain(v) for k, v in attributes.items()}
        if not self.policy.redaction:
            return plain
        try:
            return self.scrubber.attributes(plain, ScrubContext(NAME_BUDGET_S))
        except Exception:
            self.scrubber.count_failure()
            kept = {k: v for k, v in plain.items() if fits_shape(k, v)}
            kept[c.REDACTION_FAILED] = True
            return kept


def _type_name(error: BaseException) -> str:
    name = exception_type_name(error)
    return name if fits_shape(c.EXCEPTION_TYPE, name) else REDACTION_FAILED


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _summarised(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """Captured values with array snapshots replaced by their summaries (never their data)."""
    if not values:
        return values
    return {path: _summary(value) for path, value in values.items()}


def _summary(value: Any) -> Any:
    if isinstance(value, ArraySnapshot):
        return value.summary()
    if isinstance(value, list):
        return [_summary(v) for v in value]
    if isinstance(value, dict):
        return {k: _summary(v) for k, v in value.items()}
    return value


def _plain(value: Any) -> Any:
    """Log values in OTel AnyValue shapes; other objects by type name (never their repr)."""
    if isinstance(value, (str, bool, int, float, bytes)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, BaseException):
        return _type_name(value)
    return f"<{type(value).__name__}>"


def error_location(error: BaseException) -> str:
    """``TypeName at file.py:123 in function`` for the innermost frame: what an operator needs
    to find an SDK bug, without the message (which may quote a payload value)."""
    name = _type_name(error)
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return name
    code = tb.tb_frame.f_code
    return f"{name} at {code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno} in {code.co_name}"
