"""``infertel doctor``: check the telemetry setup a service would use, end to end.

Each check returns a :class:`Check`; a failed one makes the command exit non-zero. The checks
read the same arguments and environment as :func:`infertel.configure` (so they test what the
service would get), never print a secret (header values, HMAC keys), and bound every network
step by a timeout.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from infertel.config import Settings, resolve_settings

Status = Literal["ok", "warn", "fail", "skip"]

HEALTH_SPAN = "infertel.doctor.health"
_GRPC_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_TLS_VARIABLES = ("CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE")


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


@dataclass
class DoctorOptions:
    endpoint: str | None = None
    protocol: Literal["grpc", "http/protobuf"] | None = None
    ner: bool = False
    collector_out: Path | None = None
    timeout_s: float = 5.0
    wait_s: float = 15.0


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    trace_id: str | None = None

    @property
    def failed(self) -> bool:
        return any(check.status == "fail" for check in self.checks)

    def add(self, name: str, status: Status, detail: str) -> None:
        self.checks.append(Check(name, status, detail))


def run(options: DoctorOptions) -> Report:
    report = Report()
    settings = _configuration(options, report)
    if settings is not None and settings.exporter_name == "otlp":
        endpoint = otlp_endpoint(settings)
        _reachable(settings, endpoint, options.timeout_s, report)
        _tls_and_headers(settings, endpoint, report)
    _privacy(report)
    if options.ner:
        _ner(report)
    if settings is not None:
        _health(settings, options, report)
    if options.collector_out is not None:
        _arrived(options.collector_out, report.trace_id, options.wait_s, report)
    return report


# --------------------------------------------------------------------------- configuration
def _configuration(options: DoctorOptions, report: Report) -> Settings | None:
    try:
        settings = resolve_settings(otlp_endpoint=options.endpoint,
                                    otlp_protocol=options.protocol,
                                    exporter="otlp" if options.endpoint else None,
                                    export_timeout_s=options.timeout_s)
    except ValidationError as error:
        fields = ", ".join(".".join(map(str, e["loc"])) or "?" for e in error.errors())
        report.add("configuration", "fail", f"invalid settings: {fields}")
        return None
    name = settings.exporter_name
    if not settings.enabled:
        report.add("configuration", "warn", "telemetry is disabled (INFERTEL_ENABLED / "
                                            "OTEL_SDK_DISABLED): nothing is exported")
    elif name == "otlp":
        report.add("configuration", "ok", f"service {settings.service_name!r} exports OTLP "
                                          f"({settings.otlp_protocol}) to "
                                          f"{otlp_endpoint(settings)}")
    elif name == "local":
        report.add("configuration", "ok", f"service {settings.service_name!r} writes the local "
                                          f"store {settings.local_dir} (no OTLP endpoint set)")
    else:
        report.add("configuration", "warn", f"exporter {name!r}: telemetry is not stored")
    return settings


def otlp_endpoint(settings: Settings) -> str:
    """The collector's base URL the OTLP exporters will use (OpenTelemetry's defaults)."""
    if settings.otlp_endpoint:
        return settings.otlp_endpoint
    signal = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if signal:
        return signal
    return ("http://localhost:4317" if settings.otlp_protocol == "grpc"
            else "http://localhost:4318")


def _traces_url(settings: Settings, endpoint: str) -> str:
    if not settings.otlp_endpoint and os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return endpoint  # a per-signal endpoint is the full URL
    return endpoint.rstrip("/") + "/v1/traces"


# ------------------------------------------------------------------------------ network
def parse_headers(text: str) -> dict[str, str]:
    """``OTEL_EXPORTER_OTLP_HEADERS`` (``k=v,k2=v2``, URL-encoded); ValueError if malformed."""
    headers = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError("every entry must be key=value")
        headers[urllib.parse.unquote(key.strip()).lower()] = urllib.parse.unquote(value.strip())
    return headers


def _headers() -> dict[str, str]:
    headers: dict[str, str] = {}
    for name in ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"):
        try:
            headers.update(parse_headers(os.environ.get(name, "")))
        except ValueError:
            continue  # reported by the TLS / headers check
    return headers


def _reachable(settings: Settings, endpoint: str, timeout: float, report: Report) -> None:
    name = f"endpoint reachable ({settings.otlp_protocol})"
    try:
        if settings.otlp_protocol == "grpc":
            detail = _grpc_export(endpoint, timeout)
        else:
            detail = _http_export(_traces_url(settings, endpoint), timeout)
    except _Unreachable as error:
        report.add(name, "fail", str(error))
        return
    report.add(name, "ok", detail)


class _Unreachable(Exception):
    pass


def _http_export(url: str, timeout: float) -> str:
    """POST an empty ExportTraceServiceRequest: a collector answers 200 and stores nothing."""
    request = urllib.request.Request(
        url, data=b"", method="POST",
        headers={"Content-Type": "application/x-protobuf", **_headers()})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        hint = ("check OTEL_EXPORTER_OTLP_HEADERS" if error.code in (401, 403)
                else "is it an OTLP/HTTP receiver?")
        raise _Unreachable(f"{url} answered HTTP {error.code} to an empty export "
                           f"({hint})") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise _Unreachable(f"cannot reach {url}: {reason}") from error
    return f"{url} accepted an empty export (HTTP {status})"


def _grpc_export(endpoint: str, timeout: float) -> str:
    """Call TraceService/Export with an empty request over gRPC."""
    import grpc  # type: ignore[import-untyped]
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    parsed = urllib.parse.urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    target = parsed.netloc or parsed.path
    insecure = os.environ.get("OTEL_EXPORTER_OTLP_INSECURE", "").lower() == "true"
    if parsed.scheme == "https" and not insecure:
        certificate = os.environ.get("OTEL_EXPORTER_OTLP_CERTIFICATE")
        roots = Path(certificate).read_bytes() if certificate else None
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(roots))
    else:
        channel = grpc.insecure_channel(target)
    try:
        export = channel.unary_unary(
            _GRPC_EXPORT,
            request_serializer=ExportTraceServiceRequest.SerializeToString,
            response_deserializer=ExportTraceServiceResponse.FromString,
        )
        export(ExportTraceServiceRequest(), timeout=timeout,
               metadata=tuple(_headers().items()) or None)
    except grpc.RpcError as error:
        code = error.code().name if hasattr(error, "code") else "UNKNOWN"
        raise _Unreachable(f"gRPC export to {target} failed: {code}") from error
    finally:
        channel.close()
    return f"{target} accepted an empty gRPC export"


def _tls_and_headers(settings: Settings, endpoint: str, report: Report) -> None:
    notes: list[str] = []
    problems: list[str] = []
    for scope in ("", "TRACES_", "LOGS_", "METRICS_"):
        name = f"OTEL_EXPORTER_OTLP_{scope}HEADERS"
        text = os.environ.get(name)
        if text:
            try:
                keys = sorted(parse_headers(text))
            except ValueError as error:
                problems.append(f"{name} is malformed ({error})")
            else:  # names only: header values are credentials
                notes.append(f"{name} sets {', '.join(keys) or 'nothing'}")
        for variable in _TLS_VARIABLES:
            tls_name = f"OTEL_EXPORTER_OTLP_{scope}{variable}"
            path = os.environ.get(tls_name)
            if path:
                if Path(path).is_file():
                    notes.append(f"{tls_name} found")
                else:
                    problems.append(f"{tls_name} names a missing file: {path}")
    scheme = urllib.parse.urlparse(endpoint).scheme
    host = urllib.parse.urlparse(endpoint).hostname or ""
    if scheme == "https":
        notes.append("TLS (https)" + ("" if any("CERTIFICATE" in n for n in notes)
                                      else " with the system's CA certificates"))
    elif host not in ("localhost", "127.0.0.1", "::1"):
        notes.append(f"plaintext to {host}: telemetry crosses the network unencrypted")
        if not problems:
            report.add("TLS and headers", "warn", "; ".join(notes))
            return
    if problems:
        report.add("TLS and headers", "fail", "; ".join(problems + notes))
    else:
        report.add("TLS and headers", "ok", "; ".join(notes) or "plaintext to a local "
                   "collector, no headers (none needed)")


# ------------------------------------------------------------------------------ privacy
def _privacy(report: Report) -> None:
    try:
        from infertel.privacy._policy import PrivacyPolicy
        from infertel.privacy._scrubber import Scrubber, ScrubContext

        policy = PrivacyPolicy()
        probe = "write to alice@example.com or call +1 415 555 0100"
        scrubbed = Scrubber(policy).text(probe, ScrubContext(5.0))
    except Exception as error:
        report.add("privacy policy", "fail", f"the default policy does not load: "
                                             f"{type(error).__name__}: {error}")
        return
    if "alice@example.com" in scrubbed or "555 0100" in scrubbed:
        report.add("privacy policy", "fail", "the scrubber let a test e-mail or phone through")
    else:
        report.add("privacy policy", "ok", f"default policy loads; detection "
                                           f"{policy.detection!r}; a test e-mail and phone "
                                           "number are redacted")
    try:
        key = policy.key_bytes()
    except ValueError as error:
        report.add("HMAC key", "fail", str(error))
        return
    source = ("INFERTEL_HMAC_KEY" if os.environ.get("INFERTEL_HMAC_KEY")
              else "INFERTEL_HMAC_KEY_FILE")
    if key is None:
        report.add("HMAC key", "warn", "none set (INFERTEL_HMAC_KEY or INFERTEL_HMAC_KEY_FILE): "
                                       "hashed fields and pseudonyms use a random per-process "
                                       "key and will not correlate across processes")
    elif len(key) < 16:
        report.add("HMAC key", "fail", f"the key from {source} is shorter than 16 bytes")
    else:
        report.add("HMAC key", "ok", f"{len(key)}-byte key from {source}, id "
                                     f"{policy.hmac_key_id!r}")


def _ner(report: Report) -> None:
    try:
        from infertel.privacy._detector import PiiDetector

        found = PiiDetector(detection="ner").analyze("Jane Doe moved to Paris last year.")
    except (ImportError, OSError, RuntimeError) as error:
        report.add("NER model", "fail", f"not available ({type(error).__name__}); install it "
                                        "with pip install 'infertel[ner]'")
        return
    kinds = sorted({f.entity_type for f in found})
    status: Status = "ok" if "PERSON" in kinds else "fail"
    report.add("NER model", status, f"spaCy NER found {', '.join(kinds) or 'nothing'} in a "
                                    "test sentence")


# ------------------------------------------------------------------------------ health
def _health(settings: Settings, options: DoctorOptions, report: Report) -> None:
    """One decorated call and one log record through the real export path."""
    from opentelemetry import trace

    import infertel

    if not settings.enabled or settings.exporter_name in ("none", "console"):
        report.add("health span exported", "skip", "nothing is exported with this exporter")
        return
    started = time.monotonic()
    try:
        telemetry = infertel.configure(
            otlp_endpoint=options.endpoint, otlp_protocol=options.protocol,
            exporter="otlp" if options.endpoint else None,
            export_timeout_s=options.timeout_s, metric_interval_s=3600.0)
        log = telemetry.get_logger("infertel.doctor")

        @infertel.traced_inference(name=HEALTH_SPAN)
        def health_check() -> str:
            log.info("infertel doctor health check")
            return format(trace.get_current_span().get_span_context().trace_id, "032x")

        trace_id = health_check()
        finished = telemetry.shutdown(timeout=options.timeout_s + 1.0)
    except Exception as error:
        report.add("health span exported", "fail", f"{type(error).__name__}: {error}")
        return
    elapsed = time.monotonic() - started
    lost = telemetry.dropped()
    if lost:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(lost.items()))
        report.add("health span exported", "fail", f"export failed ({reasons})")
    elif not finished:
        report.add("health span exported", "fail", f"export did not finish within "
                                                   f"{options.timeout_s + 1.0:g}s")
    else:
        report.trace_id = trace_id
        report.add("health span exported", "ok", f"span {HEALTH_SPAN} and a log record, "
                                                 f"trace {trace_id}, in {elapsed:.2f}s")


def _arrived(out: Path, trace_id: str | None, wait: float, report: Report) -> None:
    name = "arrived at collector"
    if trace_id is None:
        report.add(name, "fail", "no health span was exported to look for")
        return
    deadline = time.monotonic() + wait
    found: set[str] = set()
    while True:
        found |= _signals_with_trace(out, trace_id)
        if {"traces", "logs"} <= found:
            report.add(name, "ok", f"span and log record of trace {trace_id} are in {out}")
            return
        if time.monotonic() > deadline:
            missing = sorted({"traces", "logs"} - found)
            report.add(name, "fail", f"no {' or '.join(missing)} of trace {trace_id} in {out} "
                                     f"after {wait:g}s")
            return
        time.sleep(0.2)


def _signals_with_trace(out: Path, trace_id: str) -> set[str]:
    from infertel.tools._store import StoreError, iter_documents

    found: set[str] = set()
    try:
        for document in iter_documents(out):
            if document.signal != "metrics" and _mentions(document.data, trace_id):
                found.add(document.signal)
    except StoreError:
        pass  # not created yet
    return found


def _mentions(node: Any, trace_id: str) -> bool:
    if isinstance(node, dict):
        if str(node.get("traceId", "")).lower() == trace_id:
            return True
        return any(_mentions(value, trace_id) for value in node.values())
    if isinstance(node, list):
        return any(_mentions(value, trace_id) for value in node)
    return False
