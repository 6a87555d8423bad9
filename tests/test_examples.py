"""The examples, run for real: the batch scorer as a subprocess, the FastAPI service in-process.

Both write to a local store under ``tmp_path``; the assertions read the OTLP-JSON lines back,
so they check what a user of the store (or a collector) would actually see.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

import infertel
from infertel import conventions as c

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
STATUS_ERROR = 2  # OTLP StatusCode.STATUS_CODE_ERROR


# ------------------------------------------------------------------------------ store reading
def _value(value: dict[str, Any]) -> Any:
    """An OTLP-JSON AnyValue as a Python value (int64 values are JSON strings in OTLP-JSON)."""
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return value["boolValue"]
    if "arrayValue" in value:
        return [_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return _attributes(value["kvlistValue"].get("values", []))
    return None


def _attributes(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    return {pair["key"]: _value(pair.get("value", {})) for pair in pairs}


def _documents(store: Path, signal: str) -> Iterator[dict[str, Any]]:
    files = sorted((store / signal).glob("*.jsonl"))
    assert files, f"no {signal} files in {store}"
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)


def read_spans(store: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(resource attributes, span) pairs; each span's ``attributes`` already decoded."""
    found = []
    for document in _documents(store, "traces"):
        for resource_spans in document["resourceSpans"]:
            resource = _attributes(resource_spans["resource"]["attributes"])
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    decoded = {**span, "attributes": _attributes(span.get("attributes", []))}
                    found.append((resource, decoded))
    return found


def read_logs(store: Path) -> list[dict[str, Any]]:
    """Log records with ``attributes`` and ``body`` decoded."""
    found = []
    for document in _documents(store, "logs"):
        for resource_logs in document["resourceLogs"]:
            for scope_logs in resource_logs["scopeLogs"]:
                for record in scope_logs["logRecords"]:
                    found.append({
                        **record,
                        "attributes": _attributes(record.get("attributes", [])),
                        "body": _value(record.get("body", {})),
                    })
    return found


def store_text(store: Path) -> str:
    return "\n".join(f.read_text(encoding="utf-8") for f in sorted(store.rglob("*.jsonl")))


# ------------------------------------------------------------------------------ batch scorer
def test_batch_scorer_writes_one_span_per_batch_with_provenance(tmp_path: Path) -> None:
    store, model_dir, batches = tmp_path / "store", tmp_path / "model", 4
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "INFERTEL_"))}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "sklearn_batch_scorer.py"), "--local-dir", str(store),
         "--batches", str(batches), "--model-dir", str(model_dir)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"infertel query {store}" in done.stdout
    rows = int(re.search(r"scored\s+(\d+) rows", done.stdout).group(1))  # type: ignore[union-attr]

    artifacts = list(model_dir.glob("*.pkl"))
    assert len(artifacts) == 1
    digest = "sha256:" + hashlib.sha256(artifacts[0].read_bytes()).hexdigest()

    spans = [(r, s) for r, s in read_spans(store) if s["name"] == "score_batch"]
    assert len(spans) == batches
    sizes = []
    for resource, span in spans:
        attributes = span["attributes"]
        assert resource[c.MODEL_ARTIFACT_DIGEST] == digest
        assert resource[c.MODEL_FRAMEWORK] == "scikit-learn"
        assert resource[c.MODEL_PARAMS_HASH].startswith("sha256:")
        assert "breast_cancer" in resource[c.DATASET_VERSION]
        assert resource[c.SERVICE_NAME] == "sklearn-batch-scorer"
        assert attributes[c.DEPLOYMENT_RING] == "stable"
        assert attributes[c.SEGMENT] == "holdout"  # from the segment callable, given `self`
        assert attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_SUCCESS
        assert attributes[c.CODE_FUNCTION].endswith("BatchScorer.score_batch")
        size = attributes[c.BATCH_SIZE]
        scores = json.loads(attributes[c.OUTPUT_PREFIX + "return"])
        assert len(scores) == size > 0
        assert all(0.0 <= s <= 1.0 for s in scores)
        sizes.append(size)
    assert sum(sizes) == rows

    summaries = [r for r in read_logs(store) if r["body"] == "batch scoring finished"]
    assert len(summaries) == 1
    assert summaries[0]["attributes"]["rows"] == rows
    assert summaries[0]["attributes"]["batches"] == batches
    assert summaries[0]["attributes"]["accuracy"] > 0.9


# ------------------------------------------------------------------------------ FastAPI service
@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    return importlib.import_module("fastapi_service")


class Served:
    def __init__(self, client: httpx.AsyncClient, app: Any, store: Path) -> None:
        self.client = client
        self.app = app
        self.store = store

    def flush(self) -> None:
        assert self.app.state.telemetry.flush(timeout=10.0)

    def spans(self, name: str) -> list[dict[str, Any]]:
        self.flush()
        return [span for _, span in read_spans(self.store) if span["name"] == name]


@pytest.fixture
async def served(service: ModuleType, tmp_path: Path) -> AsyncIterator[Served]:
    """The app with its lifespan running (infertel configured into ``tmp_path``)."""
    app = service.create_app(local_dir=tmp_path)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Served(client, app, tmp_path)
    finally:
        infertel.shutdown(timeout=5)


async def test_predict_success_keeps_declared_fields_and_drops_text(served: Served) -> None:
    secret = "call me on +44 20 7946 0958, jane.doe@example.com, refund now"
    response = await served.client.post(
        "/predict", json={"text": secret, "amount": 1200.0, "tier": "pro"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["label"] in ("approve", "review")

    (span,) = served.spans("predict")
    attributes = span["attributes"]
    assert attributes[c.DEPLOYMENT_RING] == "stable"
    assert attributes[c.SEGMENT] == "pro"
    assert attributes[c.INFERENCE_KIND] == "async"
    assert attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_SUCCESS
    assert attributes[c.MODEL_NAME] == "refund-risk"
    assert attributes[c.INPUT_PREFIX + "req.amount"] == 1200.0
    assert attributes[c.OUTPUT_PREFIX + "score"] == body["score"]
    assert attributes[c.OUTPUT_PREFIX + "label"] == body["label"]
    assert not any("text" in key for key in attributes)
    assert span["status"].get("code", 0) != STATUS_ERROR

    # The log written inside predict() is correlated with its span.
    (scored,) = [r for r in read_logs(served.store) if r["body"] == "refund scored"]
    assert (scored["traceId"], scored["spanId"]) == (span["traceId"], span["spanId"])
    assert scored["attributes"]["tier"] == "pro"
    # The dropped free text reached no signal at all.
    text = store_text(served.store)
    assert "jane.doe@example.com" not in text
    assert "+44 20 7946 0958" not in text


async def test_predict_model_error_marks_span_as_error(served: Served) -> None:
    response = await served.client.post(
        "/predict", json={"text": "big one", "amount": 50_000.0, "tier": "enterprise"})
    assert response.status_code == 422
    assert "supported range" in response.text

    (span,) = served.spans("predict")
    attributes = span["attributes"]
    assert span["status"]["code"] == STATUS_ERROR
    assert attributes[c.ERROR_TYPE].endswith("AmountOutOfRange")
    assert attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_ERROR
    assert attributes[c.SEGMENT] == "enterprise"
    assert not any(key.startswith(c.OUTPUT_PREFIX) for key in attributes)
    (event,) = [e for e in span.get("events", []) if e["name"] == "exception"]
    assert "above the trained range" in _attributes(event["attributes"])[c.EXCEPTION_MESSAGE]

    (inference,) = [r for r in read_logs(served.store)
                    if r.get("eventName") == c.EVENT_INFERENCE]
    assert inference["severityText"] == "ERROR"
    assert inference["spanId"] == span["spanId"]


async def test_streaming_route_counts_tokens(served: Served,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    response = await served.client.post(
        "/generate", json={"prompt": "write a haiku", "max_tokens": 5, "tier": "free"})
    assert response.status_code == 200
    tokens = response.text.split()
    assert len(tokens) == 5

    (span,) = served.spans("generate")
    attributes = span["attributes"]
    assert attributes[c.STREAM_ITEMS] == len(tokens)
    assert attributes[c.INFERENCE_KIND] == "async_generator"
    assert attributes[c.INFERENCE_OUTCOME] == c.OUTCOME_SUCCESS
    assert attributes[c.STREAM_TIME_TO_FIRST_ITEM] >= 0
    assert attributes[c.INPUT_PREFIX + "req.max_tokens"] == 5
    assert not any("prompt" in key for key in attributes)
    # Attaching/detaching the span context across the streaming task must not misfire.
    assert "Failed to detach context" not in caplog.text


async def test_health_and_deployment_event(served: Served) -> None:
    response = await served.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "model": "refund-risk", "version": "2.1.0", "ring": "stable"}
    served.flush()
    logs = read_logs(served.store)
    (deployment,) = [r for r in logs if r.get("eventName") == c.EVENT_DEPLOYMENT]
    assert deployment["body"][c.MODEL_NAME] == "refund-risk"
    assert any(r["body"] == "service started" for r in logs)
