"""``infertel doctor``: check the telemetry setup a service would use, end to end.

Each check adds a :class:`Check` to the :class:`Report`; a failed one makes the command exit
non-zero. The checks read the same arguments and environment as :func:`infertel.configure` (so
they test what the service would get), never print a secret (header values, HMAC keys, URL
passwords and query tokens: every detail is masked on its way into the report), bound every
network step by a timeout, and never raise: bad input is a failed check, not a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from infertel.tools._doctor_health import (
    HEALTH_SPAN,
    arrived,
    destination,
    health_facts,
    report_health,
    send,
)
from infertel.tools._doctor_net import (
    endpoint_source,
    otlp_endpoint,
    reachable,
    tls_and_headers,
    valid_endpoint,
)
from infertel.tools._doctor_report import Check, DoctorOptions, Report, Status

if TYPE_CHECKING:
    from infertel.config import Settings

__all__ = ["HEALTH_SPAN", "Check", "DoctorOptions", "Report", "run"]

def run(options: DoctorOptions) -> Report:
    report = Report()
    settings = _guarded(report, "configuration", _configuration, options, report)
    endpoint_ok = True
    if settings is not None and settings.exporter_name == "otlp":
        endpoint_ok = bool(_guarded(report, "endpoint", valid_endpoint, settings,
                                    options.endpoint, report))
        if endpoint_ok:
            endpoint = otlp_endpoint(settings)
            _guarded(report, "endpoint reachable", reachable, settings, endpoint,
                     options.timeout_s, report)
            _guarded(report, "TLS and headers", tls_and_headers, endpoint, report)
    _guarded(report, "privacy policy", _privacy, report)
    if options.ner:
        _guarded(report, "NER model", _ner, report)
    target = _guarded(report, "health span exported", destination,
                      settings if endpoint_ok else None, options, report)
    health = None
    if target is not None:
        health = _guarded(report, "health span exported", send, options, target, report)
    report.health = health_facts(health)
    _guarded(report, "telemetry health", report_health, report.health, target is not None,
             report)
    if options.collector_out is not None and target is not None:
        _guarded(report, "arrived at collector", arrived, options.collector_out,
                 report.trace_id, options.wait_s, report)
    return report


def _guarded(report: Report, name: str, check: Callable[..., Any], *args: Any) -> Any:
    """Run one check; anything it raises becomes that check's failure (masked like the rest)."""
    try:
        return check(*args)
    except Exception as error:
        report.add(name, "fail", f"the check itself failed: {type(error).__name__}: {error}")
        return None


# --------------------------------------------------------------------------- configuration
def _configuration(options: DoctorOptions, report: Report) -> Settings | None:
    from pydantic import ValidationError

    from infertel.config import resolve_settings

    try:
        settings = resolve_settings(otlp_endpoint=options.endpoint,
                                    otlp_protocol=options.protocol,
                                    exporter="otlp" if options.endpoint else None,
                                    export_timeout_s=options.timeout_s)
    except ValidationError as error:
        # Names only: pydantic's message quotes the input, which may hold a password.
        fields = ", ".join(".".join(map(str, e["loc"])) or "?" for e in error.errors())
        report.add("configuration", "fail", f"invalid settings: {fields}")
        return None
    except ValueError as error:  # infertel.ConfigurationError names the variable
        report.add("configuration", "fail", str(error))
        return None
    name = settings.exporter_name
    if not settings.enabled:
        report.add("configuration", "warn", "telemetry is disabled (INFERTEL_ENABLED / "
                                            "OTEL_SDK_DISABLED): nothing is exported")
    elif name == "otlp":
        report.add("configuration", "ok", f"service {settings.service_name!r} exports OTLP "
                                          f"({settings.otlp_protocol}) to "
                                          f"{otlp_endpoint(settings)} (from "
                                          f"{endpoint_source(options.endpoint)})")
    elif name == "local":
        report.add("configuration", "ok", f"service {settings.service_name!r} writes the local "
                                          f"store {settings.local_dir} (no OTLP endpoint set)")
    else:
        report.add("configuration", "warn", f"exporter {name!r}: telemetry is not stored")
    return settings


# ------------------------------------------------------------------------------ privacy
def _privacy(report: Report) -> None:
    try:
        from infertel.privacy._policy import PrivacyPolicy
        from infertel.privacy._scrubber import Scrubber, ScrubContext

        policy = PrivacyPolicy(redaction_process="off")
        probe = "write to alice@example.com or call +1 415 555 0100"
        scrubbed = Scrubber(policy).text(probe, ScrubContext(5.0))
    except Exception as error:
        report.add("privacy policy", "fail", f"the default policy does not load: "
                                             f"{type(error).__name__}")
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
