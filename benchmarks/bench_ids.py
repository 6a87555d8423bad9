"""Cost of os.urandom-based ids on the hot path, against the SDK's random-module generator.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_ids.py [--rounds 41] [--calls 2000]
        [--out benchmarks/results/ids.json]

Serving-thread CPU time (``time.thread_time_ns``: on a shared, busy host wall time mostly
measures the scheduler), interleaved rounds (generator order shuffled every round), medians
over rounds, and for the decorated call the median of the per-round ratios (both generators
timed back to back in each round, so load from other processes affects both alike):

* the id draws alone: ``generate_span_id()`` and ``generate_trace_id()`` in a loop (infertel's
  pop from a stock the background worker tops up; the cost of a refill block is reported
  separately: the worker pays it, or a serving thread when the stock is empty);
* a decorated call on the serving thread (``@traced_inference`` with payload capture, exporter
  ``none``; the worker is held while a round is timed and drained after it), with
  ``telemetry.id_generator`` set to each generator in turn: every call draws one trace id and
  one span id (a call whose parent context is valid draws only a span id).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _per_call_ns(fn: Any, calls: int) -> float:
    # CPU time of this thread: on a shared, busy host wall time mostly measures the scheduler.
    clock = time.thread_time_ns
    start = clock()
    for _ in range(calls):
        fn()
    return (clock() - start) / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=None)
    options = parser.parse_args(argv)

    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    import infertel
    from infertel.pipeline import _identity
    from infertel.pipeline._identity import SecureIdGenerator

    telemetry = infertel.configure(exporter="none", queue_size=options.calls * 2)

    @infertel.traced_inference(inputs={"req.amount": "keep"}, outputs={"score": "keep"})
    def predict(req: dict[str, Any]) -> dict[str, Any]:
        return {"score": req["amount"] * 0.5}

    request = {"amount": 12.5, "text": "hello"}
    generators = {"sdk_random": RandomIdGenerator(), "infertel_urandom": SecureIdGenerator()}
    draws: dict[str, dict[str, list[float]]] = {n: {"span": [], "trace": []} for n in generators}
    calls: dict[str, list[float]] = {n: [] for n in generators}
    for generator in generators.values():  # warm-up
        _per_call_ns(generator.generate_span_id, options.calls)
    for _ in range(options.rounds):
        order = list(generators)
        random.shuffle(order)
        for name in order:
            generator = generators[name]
            draws[name]["span"].append(_per_call_ns(generator.generate_span_id, options.calls))
            draws[name]["trace"].append(_per_call_ns(generator.generate_trace_id, options.calls))
            telemetry.id_generator = generator
            # The worker is held while the serving thread is timed, so both generators are
            # measured without the background thread competing for the interpreter lock.
            hold = threading.Event()
            telemetry.worker.submit(lambda hold=hold: hold.wait(60))
            time.sleep(0.06)
            calls[name].append(_per_call_ns(lambda: predict(request), options.calls))
            hold.set()
            telemetry.flush(timeout=60, metrics=False)
    infertel.shutdown(timeout=10)

    med = statistics.median
    # What the worker (or, with the stock empty, a serving thread) pays per 4 KiB block.
    blocks = {"trace_ids_per_block": len(_identity._draw_trace_ids()),
              "trace_block_us": round(med(_per_call_ns(_identity._draw_trace_ids, 200) / 1e3
                                          for _ in range(9)), 1),
              "span_ids_per_block": len(_identity._draw_span_ids()),
              "span_block_us": round(med(_per_call_ns(_identity._draw_span_ids, 200) / 1e3
                                         for _ in range(9)), 1)}
    result: dict[str, Any] = {
        "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
        "rounds": options.rounds, "calls_per_round": options.calls,
        "span_id_ns": {n: round(med(d["span"]), 1) for n, d in draws.items()},
        "trace_id_ns": {n: round(med(d["trace"]), 1) for n, d in draws.items()},
        "decorated_call_ns": {n: round(med(v), 1) for n, v in calls.items()},
        "refill": blocks,
    }
    # Paired per round (both generators measured back to back): robust to a shared, busy host.
    ratios = [new / old for new, old in zip(calls["infertel_urandom"], calls["sdk_random"],
                                            strict=True)]
    result["decorated_call_ratio_median_of_rounds"] = round(med(ratios), 3)
    result["decorated_call_ratio_quartiles"] = [round(q, 3) for q in
                                                statistics.quantiles(ratios, n=4)]
    print(json.dumps(result, indent=2))
    if options.out is not None:
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
