"""``infertel doctor``'s network checks: is the endpoint a URL, does it answer an empty OTLP
export, are the TLS and header variables usable. Header values are credentials and are never
printed; every URL in a message is masked by the report (``_urls.mask_urls``)."""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Final

from infertel.tools._urls import endpoint_problem

if TYPE_CHECKING:
    from infertel.config import Settings
    from infertel.tools._doctor_report import Report

_GRPC_EXPORT: Final = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_TLS_VARIABLES: Final = ("CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE")
_ENDPOINT_VARIABLES: Final = ("INFERTEL_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT",
                              "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def otlp_endpoint(settings: Settings) -> str:
    """The collector's base URL the OTLP exporters will use (OpenTelemetry's defaults)."""
    if settings.otlp_endpoint:
        return settings.otlp_endpoint
    signal = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if signal:
        return signal
    return ("http://localhost:4317" if settings.otlp_protocol == "grpc"
            else "http://localhost:4318")


def endpoint_source(explicit: str | None) -> str:
    """Where the endpoint came from, for messages: the option or the variable's name."""
    if explicit:
        return "--endpoint"
    for name in _ENDPOINT_VARIABLES:
        if os.environ.get(name):
            return name
    return "OpenTelemetry's default"


def valid_endpoint(settings: Settings, explicit: str | None, report: Report) -> bool:
    """Add a failed check and return False when the endpoint is not a usable URL."""
    endpoint = otlp_endpoint(settings)
    problem = endpoint_problem(endpoint, settings.otlp_protocol)
    if problem is None:
        return True
    report.add("endpoint", "fail", f"{endpoint_source(explicit)} is not an OTLP endpoint URL: "
                                   f"{problem} (got {endpoint!r})")
    return False


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


def reachable(settings: Settings, endpoint: str, timeout: float, report: Report) -> None:
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
    try:
        request = urllib.request.Request(
            url, data=b"", method="POST",
            headers={"Content-Type": "application/x-protobuf", **_headers()})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        hint = ("check OTEL_EXPORTER_OTLP_HEADERS" if error.code in (401, 403)
                else "is it an OTLP/HTTP receiver?")
        raise _Unreachable(f"{url} answered HTTP {error.code} to an empty export "
                           f"({hint})") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or type(error).__name__
        raise _Unreachable(f"cannot reach {url}: {reason}") from None
    return f"{url} accepted an empty export (HTTP {status})"


def _grpc_export(endpoint: str, timeout: float) -> str:
    """Call TraceService/Export with an empty request over gRPC."""
    import grpc  # type: ignore[import-untyped]
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    parsed = urllib.parse.urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    target = parsed.netloc.rpartition("@")[2] or parsed.path
    insecure = os.environ.get("OTEL_EXPORTER_OTLP_INSECURE", "").lower() == "true"
    try:
        if parsed.scheme == "https" and not insecure:
            certificate = os.environ.get("OTEL_EXPORTER_OTLP_CERTIFICATE")
            roots = Path(certificate).read_bytes() if certificate else None
            channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(roots))
        else:
            channel = grpc.insecure_channel(target)
    except (OSError, ValueError) as error:
        raise _Unreachable(f"cannot open a gRPC channel to {target} "
                           f"({type(error).__name__})") from None
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
        raise _Unreachable(f"gRPC export to {target} failed: {code}") from None
    finally:
        channel.close()
    return f"{target} accepted an empty gRPC export"


def tls_and_headers(endpoint: str, report: Report) -> None:
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
    parsed = urllib.parse.urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    host = parsed.hostname or ""
    if parsed.scheme == "https":
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
