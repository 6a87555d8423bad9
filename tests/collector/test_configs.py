"""Structural checks of the OpenTelemetry Collector configs in collector-config/otelcol/.

The Contrib binary cannot run here, so these check what can be checked without it: the YAML
parses, pipelines only name defined components, the privacy layer sits in every traces/logs
pipeline, the lists derived from infertel's conventions equal what :mod:`infertel.tools._otelcol`
computes, the value patterns compile (in RE2's subset) and match what they are meant to, and
every ``${env:VAR}`` placeholder is documented.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infertel import conventions as c
from infertel.privacy._detector import PiiDetector
from infertel.privacy._patterns import PATTERN_ENTITIES
from infertel.tools import _collector, _otelcol

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "collector-config"
CONFIGS = {name: CONFIG_DIR / "otelcol" / f"{name}.yaml" for name in ("agent", "gateway")}
SECTIONS = ("receivers", "processors", "exporters", "connectors", "extensions")
_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")
# Go's RE2 has no look-arounds, back-references or possessive/atomic groups.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\(\?P=|\\[1-9]|\(\?>|[*+?}]\+")

SAMPLES = {
    "EMAIL_ADDRESS": ["jane.doe@example.com", "write to ops+ml@corp.example.co.uk today"],
    "PHONE_NUMBER": ["+1 415 555 0100", "call (415) 555-0100", "+44 20 7946 0958"],
    "CREDIT_CARD": ["4111 1111 1111 1111", "card 5500-0000-0000-0004", "378282246310005"],
    "US_SSN": ["ssn 536-22-8726"],
    "IP_ADDRESS": ["client 192.168.1.20", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"],
    "IBAN_CODE": ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"],
    "URL_CREDENTIALS": ["postgres://admin:s3cret@db.example.com:5432/app"],
    "AWS_ACCESS_KEY": ["AKIAIOSFODNN7EXAMPLE"],
    "AWS_SECRET_KEY": ["aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
    "GITHUB_TOKEN": ["ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2],
    "SLACK_TOKEN": ["xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"],
    "JWT": ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9"],
    "BEARER_TOKEN": ["Authorization: Bearer abcdef0123456789abcdef"],
    "PRIVATE_KEY": ["-----BEGIN RSA PRIVATE KEY-----\nMIIEow..."],
    "STREET_ADDRESS": ["lives at 221B Baker Street", "12, rue de la Paix", "Hauptstraße 5",
                       "Kerkstraat 12", "Calle Mayor 3", "Via Roma, 10", "350 5th Avenue"],
    "SECRET": ["password=hunter2", "db_password: 'correct-horse'", '{"api_key": "k-123456"}'],
}
# Values infertel exports that no pattern may mask: markers, ids, versions, names, times.
SAFE_VALUES = [
    "<EMAIL_ADDRESS>", "<EMAIL_ADDRESS:k1:0123456789ab>", "<CREDIT_CARD>", "<SECRET>",
    "<REDACTION_FAILED>", "fraud-detector", "2.3.1", "1.5.0-rc1", "stable", "canary",
    "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7",
    "5c69b67c-2143-4095-8157-8ed44ddc7513", "ml.inference.duration", "2025-07-01T12:00:00Z",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "__overflow__",
    "ValueError", "predict", "txn-2025-07", "0.0005",
]


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


@pytest.fixture(params=sorted(CONFIGS))
def config(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param, _load(CONFIGS[request.param])


def _pipelines(data: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    pipelines = data["service"]["pipelines"]
    assert pipelines, "no pipelines"
    return pipelines


def test_every_referenced_component_is_defined(config: tuple[str, dict[str, Any]]) -> None:
    name, data = config
    for pipeline, spec in _pipelines(data).items():
        assert spec.get("receivers"), f"{name}: {pipeline} has no receivers"
        assert spec.get("exporters"), f"{name}: {pipeline} has no exporters"
        for section in ("receivers", "processors", "exporters"):
            for component in spec.get(section, []):
                defined = set(data.get(section) or {}) | set(data.get("connectors") or {})
                assert component in defined, f"{name}: {pipeline} uses undefined {component}"
    for extension in data["service"].get("extensions", []):
        assert extension in (data.get("extensions") or {}), f"{name}: undefined {extension}"
    # And nothing is defined but unused (a typo in a pipeline would leave it dangling).
    used = {component for spec in _pipelines(data).values()
            for section in ("receivers", "processors", "exporters")
            for component in spec.get(section, [])}
    for section in ("receivers", "processors", "exporters"):
        for component in data.get(section) or {}:
            assert component in used, f"{name}: {component} is defined but never used"


def test_privacy_layer_runs_before_every_exporter(config: tuple[str, dict[str, Any]]) -> None:
    name, data = config
    for pipeline, spec in _pipelines(data).items():
        processors = spec.get("processors", [])
        assert processors[0] == "memory_limiter", f"{name}: {pipeline}"
        assert processors[-1] == "batch", f"{name}: {pipeline}"
        signal = pipeline.split("/")[0]
        if signal in ("traces", "logs"):
            # Processors run in order and all before the exporters: redaction must be there,
            # ahead of sampling and batching, so nothing unscrubbed is held or sent.
            assert "redaction" in processors, f"{name}: {pipeline} skips redaction"
            position = processors.index("redaction")
            for later in ("tail_sampling", "batch"):
                if later in processors:
                    assert position < processors.index(later), f"{name}: {pipeline}"
        elif signal == "metrics":
            assert "transform/metrics" in processors, f"{name}: {pipeline} keeps payload attrs"


def test_redaction_settings_derive_from_the_conventions(
        config: tuple[str, dict[str, Any]]) -> None:
    name, data = config
    redaction = data["processors"]["redaction"]
    assert redaction["allow_all_keys"] is False
    assert redaction["allowed_keys"] == _otelcol.redaction_allowed_keys(), (
        f"{name}: allowed_keys differ from infertel.conventions; "
        "regenerate with `python -m infertel.tools._otelcol`")
    assert redaction["blocked_values"] == _otelcol.blocked_values(), name
    text = CONFIGS[name].read_text(encoding="utf-8")
    assert _otelcol.rewrite(text) == text, (
        f"{name}.yaml is not what `python -m infertel.tools._otelcol --write` makes of it")
    # Hashing stays off: an unkeyed hash of a secret or an e-mail is reversible by guessing.
    assert "hash_function" not in redaction
    assert "hmac_key" not in redaction
    assert redaction["summary"] == "silent"


def test_allowed_keys_cover_the_conventions() -> None:
    keys = set(_otelcol.redaction_allowed_keys())
    assert keys >= c.SAFE_ATTRIBUTE_KEYS
    assert keys >= c.METRIC_ATTRIBUTE_ALLOWLIST
    for key in (c.MODEL_NAME, c.MODEL_VERSION, c.DEPLOYMENT_RING, c.SEGMENT, c.SERVICE_NAME,
                c.EXCEPTION_MESSAGE, c.ERROR_TYPE, c.DATASET_VERSION):
        assert key in keys
    for not_a_key in (c.METRIC_REQUESTS, c.EVENT_DEPLOYMENT, c.INPUT_PREFIX, c.OUTCOME_ERROR,
                      c.SEGMENT_OVERFLOW, c.INSTRUMENTATION_SCOPE):
        assert not_a_key not in keys


# Keys the SDK emits on spans, logs and resources that conventions.py does not name: the
# Collector's allowlist deletes them. Listed so that a new one fails this test.
KNOWN_OUTSIDE_CONVENTIONS: set[str] = set()


def test_sdk_emits_only_allowed_keys() -> None:
    import infertel
    from infertel.testing import capture_telemetry

    model = infertel.ModelInfo(name="fraud", version="1.0", dataset_version="d1")
    with capture_telemetry(model=model) as captured:
        @infertel.traced_inference(name="score", ring="canary", segment="gold", batch=True,
                                   inputs={"rows": "keep"}, outputs={"return": "keep"})
        def score(rows: list[int]) -> float:
            infertel.get_logger("user").info("scoring")
            if not rows:
                raise ValueError("empty")
            return 0.5

        score([1, 2])
        with pytest.raises(ValueError, match="empty"):
            score([])
        captured.flush()
        emitted: set[str] = set()
        for span in captured.spans():
            emitted |= set(span.attributes or {}) | set(span.resource.attributes)
            for event in span.events:
                emitted |= set(event.attributes or {})
        for record in captured.logs():
            emitted |= set(record.log_record.attributes or {})
    payload = {k for k in emitted if k.startswith((c.INPUT_PREFIX, c.OUTPUT_PREFIX))}
    outside = emitted - payload - set(_otelcol.redaction_allowed_keys())
    assert outside <= KNOWN_OUTSIDE_CONVENTIONS, sorted(outside - KNOWN_OUTSIDE_CONVENTIONS)


def test_blocked_value_patterns() -> None:
    patterns = _otelcol.BLOCKED_VALUE_PATTERNS
    assert set(patterns) == set(PATTERN_ENTITIES), "one pattern per entity the SDK detects"
    detector = PiiDetector(detection="patterns")
    compiled = {entity: re.compile(pattern) for entity, pattern in patterns.items()}
    for entity, pattern in patterns.items():
        assert not _NOT_RE2.search(pattern), f"{entity}: not RE2 syntax: {pattern}"
        for sample in SAMPLES[entity]:
            assert compiled[entity].search(sample), f"{entity} pattern misses {sample!r}"
            found = {f.entity_type for f in detector.analyze(sample)}
            assert found, f"infertel's detector finds nothing in the {entity} sample {sample!r}"
    for value in SAFE_VALUES:
        for entity, regex in compiled.items():
            assert not regex.search(value), f"{entity} pattern would mask {value!r}"


def test_metric_attributes_are_cut_to_the_allowlist(config: tuple[str, dict[str, Any]]) -> None:
    name, data = config
    transform = data["processors"]["transform/metrics"]
    [block] = transform["metric_statements"]
    assert block["context"] == "datapoint"
    [statement] = block["statements"]
    match = re.fullmatch(r"keep_keys\(attributes, (\[.*\])\)", statement)
    assert match, statement
    assert json.loads(match.group(1)) == _otelcol.metric_attribute_keys(), name
    deleted = data["processors"]["attributes/metrics"]["actions"]
    assert all(action["action"] == "delete" for action in deleted)
    patterns = [re.compile(a["pattern"]) for a in deleted if "pattern" in a]
    for payload_key in ("ml.input.req.text", "ml.output.label", "exception.message"):
        assert any(p.match(payload_key) for p in patterns), payload_key


def test_agent_routes_by_trace_id_to_the_gateways() -> None:
    data = _load(CONFIGS["agent"])
    balancer = data["exporters"]["loadbalancing"]
    assert balancer["routing_key"] == "traceID"
    assert "otlp" in balancer["protocol"]
    assert set(balancer["resolver"]) & {"dns", "static", "k8s"}
    for signal in ("traces", "logs"):
        assert data["service"]["pipelines"][signal]["exporters"] == ["loadbalancing"]
    assert "tail_sampling" not in data["processors"]  # sampling needs whole traces: gateway


def test_gateway_samples_and_exports_to_every_backend() -> None:
    data = _load(CONFIGS["gateway"])
    sampling = data["processors"]["tail_sampling"]
    assert sampling["decision_wait"]
    kinds = {policy["type"]: policy for policy in sampling["policies"]}
    assert kinds["status_code"]["status_code"]["status_codes"] == ["ERROR"]
    assert "threshold_ms" in kinds["latency"]["latency"]
    assert "sampling_percentage" in kinds["probabilistic"]["probabilistic"]
    rings = [p["string_attribute"] for p in sampling["policies"]
             if p["type"] == "string_attribute"
             and p["string_attribute"]["key"] == c.DEPLOYMENT_RING]
    assert rings == [{"key": c.DEPLOYMENT_RING, "values": ["canary"]}]
    exporters = {name.split("/")[0] for name in data["exporters"]}
    assert {"otlp", "clickhouse", "prometheusremotewrite", "file"} <= exporters
    assert data["exporters"]["file"]["format"] == "json"  # what `infertel query` reads
    traces = data["service"]["pipelines"]["traces"]["processors"]
    assert "tail_sampling" in traces


def test_every_env_placeholder_is_documented() -> None:
    readme = (CONFIG_DIR / "README.md").read_text(encoding="utf-8")
    for path in CONFIGS.values():
        names = set(_ENV.findall(path.read_text(encoding="utf-8")))
        assert names, path
        undocumented = sorted(name for name in names if f"`{name}`" not in readme)
        assert not undocumented, f"{path.name}: document {undocumented} in the README"


def test_rotel_processor_files_are_the_ones_the_cli_runs() -> None:
    folder = CONFIG_DIR / "rotel"
    for name, source in _collector.PROCESSOR_SOURCES.items():
        assert (folder / name).read_text(encoding="utf-8") == source, (
            f"collector-config/rotel/{name} differs from "
            "infertel.tools._collector.PROCESSOR_SOURCES")
