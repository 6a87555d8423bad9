"""Collector outage under load: what is lost, what the caller pays, what memory does.

Three scenarios against the real local collector (rotel with infertel's processors, OTLP/HTTP
on 127.0.0.1), each with the service in its own process, paced at ``--rate`` calls/s:

* ``spool``: healthy, then the collector SIGKILLed for ``--outage`` seconds, then restarted;
  the spool on. After recovery every span and inference log record must have arrived.
* ``no_spool``: the same without the spool: arrived + counted drops must equal produced,
  exactly, per signal.
* ``sigkill``: the spool on; the *service* is SIGKILLed during the outage, the collector comes
  back, the service is started again on the same spool: what the spool held must arrive,
  duplicates carrying the same span id / ``log.record.uid``.

Latency is the decorated function's wall time per call (p50/p99, healthy vs outage), RSS is
sampled every second. Usage::

    .venv/bin/python benchmarks/bench_outage.py --out benchmarks/results/outage.json
    .venv/bin/python benchmarks/bench_outage.py --quick      # 10 s outage, 200 calls/s
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


# ----------------------------------------------------------------------------- service side
def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def service(args: argparse.Namespace) -> None:
    """Paced calls on a shared wall-clock schedule; writes what it produced and measured."""
    from opentelemetry import trace

    import infertel

    telemetry = infertel.configure(
        service_name="outage-bench", exporter="otlp", otlp_endpoint=args.endpoint,
        spool_dir=args.spool or None, export_timeout_s=2.0, metric_interval_s=5.0)
    produced: list[str] = []
    samples: list[tuple[float, float, float]] = []  # (t since start, latency s, rss placeholder)
    rss: list[tuple[float, float]] = []
    errors = 0
    stop = threading.Event()

    def sample_rss() -> None:
        while not stop.wait(1.0):
            rss.append((time.time() - args.t0, _rss_mb()))

    threading.Thread(target=sample_rss, daemon=True).start()

    @infertel.traced_inference(name="outage_predict", inputs={"features": "keep"})
    def predict(features: list[float]) -> float:
        produced.append(format(trace.get_current_span().get_span_context().span_id, "016x"))
        return sum(features) / len(features)

    features = [0.1 * i for i in range(16)]
    n = 0
    while (elapsed := time.time() - args.t0) < args.until:
        while n < int(elapsed * args.rate):
            started = time.perf_counter()
            try:
                predict(features)
            except Exception:
                errors += 1
            samples.append((time.time() - args.t0, time.perf_counter() - started, 0.0))
            n += 1
        time.sleep(0.001)
    result: dict[str, Any] = {"produced": produced, "errors": errors,
                              "latency": [(t, d) for t, d, _ in samples], "rss": rss}
    if args.drain:
        telemetry.flush(timeout=30.0)
        if telemetry.spool is not None:
            result["drained"] = telemetry.spool.drain(timeout=args.drain)
            result["spool_after"] = telemetry.spool.stats()
    result["shutdown"] = infertel.shutdown(timeout=30.0)
    result["status"] = telemetry.export_status.snapshot()
    result["dropped"] = telemetry.dropped()
    stop.set()
    Path(args.result).write_text(json.dumps(result))


# ----------------------------------------------------------------------------- driver side
def _free_port(exclude: int = 0) -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port != exclude:
            return port


class Collector:
    def __init__(self, out: Path) -> None:
        from infertel.tools import _collector

        self._c = _collector
        self.out = out
        self.grpc = _free_port()
        self.http = _free_port(self.grpc)
        self.url = f"http://127.0.0.1:{self.http}"
        self.pid = 0

    def start(self) -> None:
        self.pid = self._c.start(self.out, grpc_port=self.grpc, http_port=self.http,
                                 timeout=60).pid

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self._c.alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._c.stop(self.out, timeout=1.0)

    def stop(self) -> None:
        self._c.stop(self.out, timeout=10.0)

    def received(self) -> tuple[list[str], list[tuple[str, str | None]]]:
        """(span ids, [(log span id, log.record.uid)]), duplicates kept."""
        spans: list[str] = []
        logs: list[tuple[str, str | None]] = []
        for signal_name, block, scope, item in (("traces", "resourceSpans", "scopeSpans", "spans"),
                                                ("logs", "resourceLogs", "scopeLogs",
                                                 "logRecords")):
            for path in sorted((self.out / signal_name).glob("*.jsonl")):
                for line in path.read_text(encoding="utf-8").splitlines():
                    try:
                        document = json.loads(line)
                    except ValueError:
                        continue
                    for resource in document.get(block, []):
                        for scoped in resource.get(scope, []):
                            for record in scoped.get(item, []):
                                if signal_name == "traces":
                                    spans.append(record["spanId"])
                                elif record.get("spanId"):
                                    uid = next((a["value"].get("stringValue")
                                                for a in record.get("attributes", [])
                                                if a["key"] == "log.record.uid"), None)
                                    logs.append((record["spanId"], uid))
        return spans, logs


def _run_service(endpoint: str, spool: str, t0: float, until: float, rate: int, drain: float,
                 result: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([
        sys.executable, __file__, "--role", "service", "--endpoint", endpoint, "--spool", spool,
        "--t0", repr(t0), "--until", repr(until), "--rate", str(rate), "--drain", repr(drain),
        "--result", str(result)])


def _settle(collector: Collector, expected_spans: int, timeout: float = 60.0) -> None:
    """The collector's file sink writes after answering: wait until it stops growing."""
    deadline, last, stable = time.monotonic() + timeout, -1, 0
    while time.monotonic() < deadline:
        spans, logs = collector.received()
        total = len(spans) + len(logs)
        stable = stable + 1 if total == last else 0
        if len(set(spans)) >= expected_spans and stable >= 3:
            return
        last = total
        time.sleep(1.0)


def _percentiles(latency: list[list[float]], start: float, end: float) -> dict[str, float]:
    values = sorted(d for t, d in latency if start <= t < end)
    if not values:
        return {}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"calls": len(values), "p50_us": round(q[49] * 1e6, 1), "p99_us": round(q[98] * 1e6, 1),
            "max_us": round(values[-1] * 1e6, 1)}


def _rss(rss: list[list[float]], start: float, end: float) -> float | None:
    values = [m for t, m in rss if start <= t < end]
    return round(max(values), 1) if values else None


def outage_scenario(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    collector = Collector(work / f"{name}-collector")
    spool = str(work / f"{name}-spool") if name == "spool" else ""
    healthy, outage, recovery = args.healthy, args.outage, args.recovery
    collector.start()
    t0 = time.time() + 2.0
    until = healthy + outage + recovery
    result_file = work / f"{name}.json"
    process = _run_service(collector.url, spool, t0, until, args.rate, 180.0, result_file)
    time.sleep(max(0.0, t0 + healthy - time.time()))
    # SIGTERM: rotel writes what it already acknowledged. A SIGKILLed rotel loses the requests
    # it answered but had not written yet — the collector's own loss, which no SDK can see
    # (``--kill-collector`` measures it).
    collector.kill() if args.kill_collector else collector.stop()
    time.sleep(max(0.0, t0 + healthy + outage - time.time()))
    collector.start()
    process.wait(timeout=until + 400)
    result = json.loads(result_file.read_text())
    produced = result["produced"]
    _settle(collector, len(produced) if spool else 0)
    spans, logs = collector.received()
    collector.stop()
    status = result["status"]
    span_set, log_set = set(spans), {span_id for span_id, _ in logs}
    summary: dict[str, Any] = {
        "produced_calls": len(produced),
        "errors_to_caller": result["errors"],
        "spans_received": len(spans), "spans_unique": len(span_set),
        "logs_received": len(logs), "logs_unique": len(log_set),
        "spans_lost": len(set(produced) - span_set),
        "logs_lost": len(set(produced) - log_set),
        "dropped_counted": {"traces": status["traces"]["dropped"],
                            "logs": status["logs"]["dropped"]},
        "queue_dropped": result["dropped"],
        "spool_drained": result.get("drained"),
        "shutdown_returned": result["shutdown"],
        "latency_healthy": _percentiles(result["latency"], 5.0, healthy),
        "latency_outage": _percentiles(result["latency"], healthy + 2, healthy + outage),
        "rss_mb_healthy_max": _rss(result["rss"], 0, healthy),
        "rss_mb_outage_max": _rss(result["rss"], healthy, healthy + outage),
        "rss_mb_recovery_max": _rss(result["rss"], healthy + outage, until + 60),
    }
    healthy_p99 = summary["latency_healthy"].get("p99_us")
    outage_p99 = summary["latency_outage"].get("p99_us")
    if healthy_p99 and outage_p99:
        summary["p99_ratio_outage_vs_healthy"] = round(outage_p99 / healthy_p99, 3)
    if not spool:
        lost_spans = sum(status["traces"]["dropped"].values())
        lost_logs = sum(status["logs"]["dropped"].values())
        summary["spans_received_plus_counted"] = len(span_set) + lost_spans
        summary["logs_received_plus_counted"] = len(log_set) + lost_logs
        summary["exact"] = (len(span_set) + lost_spans == len(produced)
                            == len(log_set) + lost_logs)
    else:
        summary["duplicates"] = {"spans": len(spans) - len(span_set),
                                 "logs": len(logs) - len({uid for _, uid in logs})}
    return summary


def _spooled_ids(spool_db: Path) -> tuple[set[str], set[str]]:
    """Span ids and log uids held in a spool file (decoded with the OTLP protobuf classes)."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    spans: set[str] = set()
    uids: set[str] = set()
    with sqlite3.connect(spool_db) as conn:
        for signal_name, payload in conn.execute("SELECT signal, payload FROM batches"):
            if signal_name == "traces":
                request = ExportTraceServiceRequest.FromString(payload)
                spans |= {s.span_id.hex() for rs in request.resource_spans
                          for ss in rs.scope_spans for s in ss.spans}
            elif signal_name == "logs":
                log_request = ExportLogsServiceRequest.FromString(payload)
                uids |= {a.value.string_value for rl in log_request.resource_logs
                         for sl in rl.scope_logs for r in sl.log_records
                         for a in r.attributes if a.key == "log.record.uid"}
    return spans, uids


def sigkill_scenario(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    collector = Collector(work / "sigkill-collector")
    spool = work / "sigkill-spool"
    collector.start()
    t0 = time.time() + 2.0
    healthy, into_outage = args.healthy, args.outage / 2
    process = _run_service(collector.url, str(spool), t0, 10**6, args.rate, 0.0,
                           work / "unused.json")
    time.sleep(max(0.0, t0 + healthy - time.time()))
    collector.kill()
    time.sleep(max(0.0, t0 + healthy + into_outage - time.time()))
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    spooled_spans, spooled_uids = _spooled_ids(spool / "spool.db")
    collector.start()
    restart_t0 = time.time()
    restarted = _run_service(collector.url, str(spool), time.time(), 0.0, args.rate, 180.0,
                             work / "sigkill-restart.json")
    restarted.wait(timeout=400)
    replay_s = time.time() - restart_t0
    result = json.loads((work / "sigkill-restart.json").read_text())
    _settle(collector, 0)
    spans, logs = collector.received()
    collector.stop()
    uid_list = [uid for _, uid in logs]
    uid_to_span: dict[str | None, set[str]] = collections.defaultdict(set)
    for span_id, uid in logs:
        uid_to_span[uid].add(span_id)
    return {
        "spool_held_at_kill": {"spans": len(spooled_spans), "log_records": len(spooled_uids)},
        "spooled_spans_delivered": len(spooled_spans & set(spans)),
        "spooled_logs_delivered": len(spooled_uids & set(uid_list)),
        "spooled_lost": len(spooled_spans - set(spans)) + len(spooled_uids - set(uid_list)),
        "duplicates": {"spans": len(spans) - len(set(spans)),
                       "logs": len(uid_list) - len(set(uid_list))},
        "every_log_copy_shares_its_uid": all(len(v) == 1 for v in uid_to_span.values()),
        "logs_without_uid": uid_list.count(None),
        "restart_drained": result.get("drained"),
        "restart_replay_s": round(replay_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--role", default="driver")
    parser.add_argument("--endpoint")
    parser.add_argument("--spool", default="")
    parser.add_argument("--t0", type=float)
    parser.add_argument("--until", type=float)
    parser.add_argument("--drain", type=float, default=0.0)
    parser.add_argument("--result")
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--healthy", type=float, default=20.0)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--recovery", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--kill-collector", action="store_true",
                        help="SIGKILL the collector for the outage instead of stopping it")
    parser.add_argument("--out", default=str(HERE / "results" / "outage.json"))
    args = parser.parse_args()
    if args.role == "service":
        service(args)
        return
    if args.quick:
        args.rate, args.healthy, args.outage, args.recovery = 200, 8.0, 10.0, 5.0
    with tempfile.TemporaryDirectory(prefix="infertel-outage-") as tmp:
        work = Path(tmp)
        results = {
            "command": "python " + " ".join(["benchmarks/bench_outage.py", *sys.argv[1:]]),
            "machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform()},
            "load": {"rate_per_s": args.rate, "healthy_s": args.healthy,
                     "outage_s": args.outage, "recovery_s": args.recovery,
                     "outage": "collector SIGKILLed" if args.kill_collector
                     else "collector stopped (SIGTERM)"},
            "spool": outage_scenario("spool", args, work),
            "no_spool": outage_scenario("no_spool", args, work),
            "sigkill": sigkill_scenario(args, work),
        }
    text = json.dumps(results, indent=2)
    print(text)
    if not args.quick:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
