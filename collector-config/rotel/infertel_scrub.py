"""rotel processor: infertel's own scrubber as the collector's (second) privacy layer.

Scrubs span names, attributes, tracestate, events (names, exception messages and stack text),
links (attributes, tracestate) and status messages; instrumentation scopes; log bodies,
attributes and event names; metric names and descriptions, and cuts data-point attributes to
infertel's metric allowlist. Scrubs by the services' policy file when $INFERTEL_POLICY_FILE
names one (``infertel collector start --policy FILE``), by the defaults otherwise. Fails closed
per record, and never raises into rotel (an exception escaping a processor stops the agent).
rotel's embedded Python must be able to import infertel: put the folder holding it and its
dependencies on PYTHONPATH (``infertel collector start`` does). Name it first on each pipeline,
before the exporting processor.
"""

from infertel.tools._rotel import scrub_processor

process_spans, process_logs, process_metrics = scrub_processor()
