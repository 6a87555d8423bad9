"""rotel processor: write what arrives as OTLP/JSON lines, in the local store's layout.

Writes ``$INFERTEL_COLLECTOR_OUT/{traces,logs,metrics}/*.jsonl``, one export request per line,
so ``infertel query`` and ``infertel scan`` read the collector's output unchanged. rotel has no
file exporter: run it with ``--exporter blackhole`` and this processor last on each pipeline.
"""

from infertel.tools._rotel import file_sink_processor

process_spans, process_logs, process_metrics = file_sink_processor()
