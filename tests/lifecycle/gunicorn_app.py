"""A decorated WSGI app for the pre-forking server test (gunicorn --preload).

Telemetry is configured at import, that is in the gunicorn master before it forks its workers;
the master also makes a few calls of its own (queued at the fork), which must be exported once,
by the master, under the master's service.instance.id.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import infertel

MASTER_CALLS = 5

infertel.configure(service_name="gunicorn-app", exporter="local",
                   local_dir=os.environ["INFERTEL_TEST_STORE"], metric_interval_s=1.0)


@infertel.traced_inference(inputs={"x": "keep"})
def predict(x: int) -> int:
    time.sleep(0.003)  # a little work, so concurrent requests spread over the workers
    return x * 2


for i in range(MASTER_CALLS):
    predict(-i)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    value = predict(int(environ.get("QUERY_STRING") or 0))
    body = json.dumps({"pid": os.getpid(), "value": value,
                       "instance": infertel.health().service_instance_id}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
