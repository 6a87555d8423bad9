"""The processor files rotel loads: three-line shims over :mod:`infertel.tools._rotel`.

``infertel collector start`` writes them into the collector's state folder; the copies in
``collector-config/rotel/`` hold the same text (``tests/collector/test_configs.py`` checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

SCRUB_PROCESSOR: Final = "infertel_scrub.py"
FILE_SINK_PROCESSOR: Final = "infertel_file_sink.py"
PROCESSOR_SOURCES: Final[Mapping[str, str]] = {
    SCRUB_PROCESSOR: '''\
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
''',
    FILE_SINK_PROCESSOR: '''\
"""rotel processor: write what arrives as OTLP/JSON lines, in the local store's layout.

Writes ``$INFERTEL_COLLECTOR_OUT/{traces,logs,metrics}/*.jsonl``, one export request per line,
so ``infertel query`` and ``infertel scan`` read the collector's output unchanged. rotel has no
file exporter: run it with ``--exporter blackhole`` and this processor last on each pipeline.
"""

from infertel.tools._rotel import file_sink_processor

process_spans, process_logs, process_metrics = file_sink_processor()
''',
}


def write_processors(directory: Path) -> dict[str, Path]:
    """Write the processor files rotel loads into ``directory``; returns name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, source in PROCESSOR_SOURCES.items():
        path = directory / name
        path.write_text(source, encoding="utf-8")
        written[name] = path.resolve()
    return written
