"""infertel's scrubber applied to rotel's objects: the collector's (second) privacy layer.

Runs inside rotel's embedded Python on one ``ResourceSpans`` / ``ResourceLogs`` /
``ResourceMetrics`` at a time, editing rotel's mutable objects in place. The policy is the
service's own (the file ``infertel collector start --policy`` names, passed in
``$INFERTEL_POLICY_FILE``), not a default, so both layers give the same answers.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final

from infertel import conventions as c
from infertel.tools._key_rules import fits_shape
from infertel.tools._rotel_values import (
    any_to_python,
    attributes_to_dict,
    clear,
    data_points,
    python_to_any,
    replace_attributes,
)

if TYPE_CHECKING:
    from infertel.privacy._policy import PrivacyPolicy
    from infertel.privacy._scrubber import ScrubContext

# The policy file rotel's processors read (``infertel collector start --policy FILE``).
ENV_POLICY: Final = "INFERTEL_POLICY_FILE"


def collector_policy(policy: PrivacyPolicy | None = None) -> PrivacyPolicy:
    """``policy``, else the one ``$INFERTEL_POLICY_FILE`` names, else the defaults; always
    without a redaction child (rotel's embedded ``sys.executable`` cannot start one)."""
    from infertel.privacy._policy import PrivacyPolicy
    from infertel.tools._policy_file import load_policy

    if policy is None:
        path = os.environ.get(ENV_POLICY)
        policy = load_policy(path) if path else PrivacyPolicy()
    return policy.model_copy(update={"redaction_process": "off"})


class RotelScrubber:
    """Applies infertel's :class:`~infertel.privacy._scrubber.Scrubber` to rotel's objects.

    Spans: name, attributes, event names and attributes (exception messages and stack text),
    links (attributes and tracestate), status message, tracestate. Logs: body, attributes,
    event name. Metrics: name and description, data-point attributes cut to the metric
    allowlist and their values scrubbed; exemplar attributes are dropped. Resources: attributes.
    Instrumentation scopes: name, version, attributes. Fail closed per record, as the SDK does.
    """

    def __init__(self, policy: PrivacyPolicy | None = None) -> None:
        from infertel.privacy._scrubber import Scrubber

        self.scrubber = Scrubber(collector_policy(policy))
        self.budget_s = self.scrubber.policy.redaction_timeout_s

    def _context(self) -> ScrubContext:
        from infertel.privacy._scrubber import ScrubContext

        return ScrubContext(self.budget_s)

    def _attributes(self, attributes: Any, context: ScrubContext) -> None:
        current = attributes_to_dict(attributes)
        if current:
            replace_attributes(attributes, self.scrubber.attributes(current, context))

    def _failed_attributes(self, attributes: Any) -> None:
        # Nothing is kept by its key's name alone: only infertel's own keys whose values have
        # their declared shape (ids, rings, outcomes) survive a failed record.
        kept = {k: v for k, v in attributes_to_dict(attributes).items() if fits_shape(k, v)}
        kept[c.REDACTION_FAILED] = True
        replace_attributes(attributes, kept)

    def _resource(self, block: Any) -> None:
        resource = block.resource
        if resource is None:
            return
        try:
            self._attributes(resource.attributes, self._context())
        except Exception:
            self.scrubber.count_failure()
            self._failed_attributes(resource.attributes)

    def _scope(self, holder: Any) -> None:
        scope = holder.scope
        if scope is None:
            return
        try:
            context = self._context()
            scope.name = self.scrubber.text(scope.name or "", context)
            scope.version = self.scrubber.text(scope.version or "", context)
            self._attributes(scope.attributes, context)
        except Exception:
            from infertel.privacy._scrubber import REDACTION_FAILED

            self.scrubber.count_failure()
            scope.name = REDACTION_FAILED
            scope.version = ""
            clear(scope.attributes)

    def tracestate(self, text: str, context: ScrubContext) -> str:
        """A W3C ``tracestate`` without the entries scrubbing would change.

        Entries are dropped whole rather than rewritten: a marker inside a vendor's value would
        only break that vendor's parser, and tracestate carries routing hints, not content.
        """
        if not text:
            return text
        kept = [entry for entry in text.split(",")
                if entry.strip() and self.scrubber.text(entry.strip(), context) == entry.strip()]
        return ",".join(entry.strip() for entry in kept)

    # ------------------------------------------------------------------- spans
    def spans(self, resource_spans: Any) -> None:
        self._resource(resource_spans)
        for scope_spans in resource_spans.scope_spans:
            self._scope(scope_spans)
            for span in scope_spans.spans:
                try:
                    self._span(span)
                except Exception:
                    self.scrubber.count_failure()
                    self._failed_span(span)

    def _span(self, span: Any) -> None:
        context = self._context()
        text = self.scrubber.text
        span.name = text(span.name, context)
        span.trace_state = self.tracestate(span.trace_state or "", context)
        self._attributes(span.attributes, context)
        for event in span.events:
            event.name = text(event.name, context)
            self._attributes(event.attributes, context)
        for link in span.links:
            link.trace_state = self.tracestate(link.trace_state or "", context)
            self._attributes(link.attributes, context)
        status = span.status
        if status is not None and status.message:
            status.message = text(status.message, context)

    def _failed_span(self, span: Any) -> None:
        from infertel.privacy._scrubber import REDACTION_FAILED

        span.name = REDACTION_FAILED
        span.trace_state = ""
        self._failed_attributes(span.attributes)
        clear(span.events)
        for link in span.links:
            link.trace_state = ""
            clear(link.attributes)
        if span.status is not None and span.status.message:
            span.status.message = REDACTION_FAILED

    def drop_spans(self, resource_spans: Any) -> None:
        """Last resort when even fail-closed scrubbing raised: nothing of the batch leaves."""
        for scope_spans in resource_spans.scope_spans:
            clear(scope_spans.spans)

    # ------------------------------------------------------------------- logs
    def logs(self, resource_logs: Any) -> None:
        self._resource(resource_logs)
        for scope_logs in resource_logs.scope_logs:
            self._scope(scope_logs)
            for record in scope_logs.log_records:
                try:
                    self._log(record)
                except Exception:
                    self.scrubber.count_failure()
                    self._failed_log(record)

    def _log(self, record: Any) -> None:
        context = self._context()
        if record.body is not None:
            body = any_to_python(record.body)
            if body not in (None, ""):
                record.body = python_to_any(self.scrubber.value(body, context))
        self._attributes(record.attributes, context)
        if record.event_name:
            record.event_name = self.scrubber.text(record.event_name, context)

    def _failed_log(self, record: Any) -> None:
        from infertel.privacy._scrubber import REDACTION_FAILED

        record.body = python_to_any(REDACTION_FAILED)
        self._failed_attributes(record.attributes)
        if record.event_name:
            record.event_name = REDACTION_FAILED

    def drop_logs(self, resource_logs: Any) -> None:
        for scope_logs in resource_logs.scope_logs:
            clear(scope_logs.log_records)

    # ------------------------------------------------------------------- metrics
    def metrics(self, resource_metrics: Any) -> None:
        self._resource(resource_metrics)
        allowed = c.EXPORTED_METRIC_ATTRIBUTES
        for scope_metrics in resource_metrics.scope_metrics:
            self._scope(scope_metrics)
            for metric in scope_metrics.metrics:
                self._metric_text(metric)
                for point in data_points(metric):
                    current = attributes_to_dict(point.attributes)
                    kept = {k: v for k, v in current.items() if k in allowed}
                    try:
                        kept = self.scrubber.attributes(kept, self._context())
                    except Exception:
                        self.scrubber.count_failure()
                        kept = {k: v for k, v in kept.items() if not isinstance(v, str)}
                    if kept != current:
                        replace_attributes(point.attributes, kept)
                    for exemplar in getattr(point, "exemplars", ()):
                        clear(exemplar.filtered_attributes)

    def _metric_text(self, metric: Any) -> None:
        try:
            context = self._context()
            metric.name = self.scrubber.text(metric.name or "", context)
            metric.description = self.scrubber.text(metric.description or "", context)
        except Exception:
            from infertel.privacy._scrubber import REDACTION_FAILED

            self.scrubber.count_failure()
            metric.name = REDACTION_FAILED
            metric.description = ""

    def drop_metrics(self, resource_metrics: Any) -> None:
        for scope_metrics in resource_metrics.scope_metrics:
            clear(scope_metrics.metrics)
