"""A deliberately bad OTLP/HTTP endpoint on 127.0.0.1: slow, erroring or refusing signals on
request, recording what it accepted (decoded with the OTLP protobuf classes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

REQUESTS = {"traces": ExportTraceServiceRequest, "logs": ExportLogsServiceRequest,
            "metrics": ExportMetricsServiceRequest}


@dataclass
class Behaviour:
    """What the endpoint does now; tests change it while it runs."""

    status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REQUESTS, 200))
    delay_s: float = 0.0
    # Answer this many requests with `fail_status` before behaving (per signal).
    fail_next: int = 0
    fail_status: int = 503


class FakeOtlp:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.lock = threading.Lock()
        self.accepted: dict[str, list[Any]] = {signal: [] for signal in REQUESTS}
        self.hits: dict[str, list[int]] = {signal: [] for signal in REQUESTS}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                signal = self.path.rstrip("/").rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                behaviour = fake.behaviour
                delay = behaviour.delay_s
                # The data is taken before the (slow) answer, as a collector that has it but
                # answers late: the client may give up, and then sends it again.
                with fake.lock:
                    if signal not in REQUESTS:
                        status = 404
                    elif behaviour.fail_next > 0:
                        behaviour.fail_next -= 1
                        status = behaviour.fail_status
                    else:
                        status = behaviour.status[signal]
                    if signal in REQUESTS:
                        fake.hits[signal].append(status)
                    if status == 200:
                        fake.accepted[signal].append(REQUESTS[signal].FromString(body))
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def start(self) -> FakeOtlp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------- what arrived
    def span_ids(self) -> list[str]:
        with self.lock:
            return [span.span_id.hex() for request in self.accepted["traces"]
                    for rs in request.resource_spans for ss in rs.scope_spans
                    for span in ss.spans]

    def log_records(self) -> list[Any]:
        with self.lock:
            return [record for request in self.accepted["logs"]
                    for rl in request.resource_logs for sl in rl.scope_logs
                    for record in sl.log_records]


@contextmanager
def fake_otlp() -> Iterator[FakeOtlp]:
    endpoint = FakeOtlp().start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


def attribute(record: Any, key: str) -> Any:
    """The value of one attribute of a protobuf span or log record (None when absent)."""
    for item in record.attributes:
        if item.key == key:
            value = item.value
            return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None
    return None
