"""Every attribute, metric and event name infertel emits.

One module holds them so the SDK, the CLI, the collector configs and the tests agree. Where an
OpenTelemetry semantic convention exists we reuse it; the rest lives under ``ml.*``.
"""

from __future__ import annotations

from typing import Final

# --- OpenTelemetry semantic conventions we reuse -------------------------------------------
SERVICE_NAME: Final = "service.name"
SERVICE_VERSION: Final = "service.version"
SERVICE_INSTANCE_ID: Final = "service.instance.id"
DEPLOYMENT_ENVIRONMENT: Final = "deployment.environment.name"
VCS_REVISION: Final = "vcs.ref.head.revision"
ARTIFACT_HASH: Final = "artifact.hash"
ENDUSER_PSEUDO_ID: Final = "enduser.pseudo.id"
ERROR_TYPE: Final = "error.type"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"
CODE_FUNCTION: Final = "code.function.name"
TELEMETRY_SDK_NAME: Final = "telemetry.sdk.name"

# --- model provenance (resource attributes, and span attributes when overridden per call) ---
MODEL_NAME: Final = "ml.model.name"
MODEL_VERSION: Final = "ml.model.version"
MODEL_ARTIFACT_DIGEST: Final = "ml.model.artifact.digest"
MODEL_FRAMEWORK: Final = "ml.model.framework"
MODEL_FRAMEWORK_VERSION: Final = "ml.model.framework.version"
MODEL_PARAMS_HASH: Final = "ml.model.params.hash"
MODEL_LIBRARY_VERSIONS: Final = "ml.model.library_versions"
DATASET_VERSION: Final = "ml.dataset.version"
CODE_VERSION: Final = "ml.code.version"

# --- per-call attributes -----------------------------------------------------------------
DEPLOYMENT_RING: Final = "ml.deployment.ring"
SEGMENT: Final = "ml.segment"
INFERENCE_ID: Final = "ml.inference.id"
INFERENCE_OUTCOME: Final = "ml.inference.outcome"
INFERENCE_KIND: Final = "ml.inference.kind"
BATCH_SIZE: Final = "ml.batch.size"
STREAM_ITEMS: Final = "ml.stream.items"
STREAM_TIME_TO_FIRST_ITEM: Final = "ml.stream.time_to_first_item"
PREDICTION_VALUE: Final = "ml.prediction.value"
REDACTION_COUNT: Final = "ml.redaction.count"
# Set on a span or log record whose scrubbing failed and whose content was replaced by markers.
REDACTION_FAILED: Final = "infertel.redaction.failed"
REDACTION_ENTITY_TYPE: Final = "infertel.entity.type"
INPUT_PREFIX: Final = "ml.input."
OUTPUT_PREFIX: Final = "ml.output."
DURATION: Final = "ml.inference.duration"

OUTCOME_SUCCESS: Final = "success"
OUTCOME_ERROR: Final = "error"
# A stream the consumer closed before it was exhausted: not an error, not a full success.
OUTCOME_CANCELLED: Final = "cancelled"

RINGS: Final = ("stable", "canary", "shadow")
SEGMENT_UNKNOWN: Final = "unknown"
SEGMENT_OVERFLOW: Final = "__overflow__"

# --- metrics -----------------------------------------------------------------------------
METRIC_REQUESTS: Final = "ml.inference.requests"
METRIC_DURATION: Final = "ml.inference.duration"
METRIC_ERRORS: Final = "ml.inference.errors"
METRIC_PREDICTION_VALUE: Final = "ml.prediction.value"
METRIC_DRIFT_SCORE: Final = "ml.drift.score"
METRIC_QUEUE_DROPPED: Final = "infertel.queue.dropped"
METRIC_INTERNAL_ERRORS: Final = "infertel.internal.errors"
METRIC_REDACTION_ENTITIES: Final = "infertel.redaction.entities"
METRIC_REDACTION_FAILURES: Final = "infertel.redaction.failures"

DROP_REASON: Final = "infertel.drop.reason"
DROP_REASON_QUEUE_FULL: Final = "queue_full"
DROP_REASON_SHUTDOWN: Final = "shutdown"

# The only attributes a metric data point may carry. Ids and free text never go on metrics:
# they explode cardinality and are the classic place personal data leaks.
METRIC_ATTRIBUTE_ALLOWLIST: Final = frozenset(
    {
        MODEL_NAME,
        MODEL_VERSION,
        DEPLOYMENT_RING,
        SEGMENT,
        INFERENCE_OUTCOME,
        ERROR_TYPE,
        DROP_REASON,
        "infertel.entity.type",
    }
)

# Attribute keys whose values infertel generates itself (ids, digests, SDK facts). The
# scrubber does not scan them: they cannot hold personal data, and hex digests would otherwise
# cost detection time for nothing.
SAFE_ATTRIBUTE_KEYS: Final = frozenset(
    {
        SERVICE_INSTANCE_ID,
        ARTIFACT_HASH,
        MODEL_ARTIFACT_DIGEST,
        MODEL_PARAMS_HASH,
        VCS_REVISION,
        CODE_VERSION,
        INFERENCE_ID,
        INFERENCE_OUTCOME,
        INFERENCE_KIND,
        DEPLOYMENT_RING,
        BATCH_SIZE,
        STREAM_ITEMS,
        STREAM_TIME_TO_FIRST_ITEM,
        DURATION,
        REDACTION_COUNT,
        REDACTION_FAILED,
        REDACTION_ENTITY_TYPE,  # an entity type name such as EMAIL_ADDRESS
        # Code identifiers and exception class names, set by the SDK from the code itself.
        CODE_FUNCTION,
        ERROR_TYPE,
        EXCEPTION_TYPE,
        "telemetry.sdk.name",
        "telemetry.sdk.language",
        "telemetry.sdk.version",
    }
)

# --- log events --------------------------------------------------------------------------
EVENT_INFERENCE: Final = "inference"
EVENT_DEPLOYMENT: Final = "ml.deployment"

INSTRUMENTATION_SCOPE: Final = "infertel"
# Set on records from infertel.get_logger(name).
LOGGER_NAME: Final = "logger.name"

# --- monitoring (drift, input validation; infertel.monitor) ---------------------------------
# Histograms of declared drift features, bucketed at the baseline's bounds (numeric), and a
# counter per baseline category (categorical). Only bin counts: never a raw value.
METRIC_FEATURE_DISTRIBUTION: Final = "ml.feature.distribution"
METRIC_FEATURE_CATEGORIES: Final = "ml.feature.categories"
METRIC_INPUT_VIOLATIONS: Final = "ml.input.violations"
FEATURE_NAME: Final = "ml.feature.name"
# A baseline category (seen >= k times in the baseline) or "__other__": a bounded set.
FEATURE_BIN: Final = "ml.feature.bin"
DRIFT_METRIC: Final = "ml.drift.metric"  # psi, js_distance, wasserstein_norm, ks, chi2...
VIOLATION_KIND: Final = "ml.input.violation.kind"  # missing, extra, type, out_of_range...
FEATURE_SCHEMA_HASH: Final = "ml.feature.schema.hash"  # the baseline's schema hash, on spans
EVENT_DRIFT_DETECTED: Final = "ml.drift.detected"
EVENT_SCHEMA_CHANGED: Final = "ml.schema.changed"
# Once per configure(): the baseline and drift settings in use, so `infertel drift` and
# `infertel report` can recompute the scores from the store alone.
EVENT_DRIFT_BASELINE: Final = "ml.drift.baseline"
# Attributes the drift metrics may carry, on top of METRIC_ATTRIBUTE_ALLOWLIST.
MONITOR_METRIC_ATTRIBUTES: Final = frozenset(
    {MODEL_NAME, MODEL_VERSION, DEPLOYMENT_RING, FEATURE_NAME, FEATURE_BIN, DRIFT_METRIC,
     VIOLATION_KIND}
)

# Every attribute an exported infertel metric may carry: the per-call allowlist plus the drift
# metrics' own (the Collector's keep_keys and its second privacy layer use this set).
EXPORTED_METRIC_ATTRIBUTES: Final = METRIC_ATTRIBUTE_ALLOWLIST | MONITOR_METRIC_ATTRIBUTES

# --- health (infertel.health() and its self-metrics; pipeline/_health.py) -------------------
METRIC_HEALTH_OK: Final = "infertel.health.ok"
METRIC_QUEUE_DEPTH: Final = "infertel.queue.depth"
METRIC_QUEUE_CAPACITY: Final = "infertel.queue.capacity"
# One name per signal rather than a signal attribute: the Collector's metric allowlist would cut
# an attribute that is not on METRIC_ATTRIBUTE_ALLOWLIST, merging the three series.
METRIC_EXPORT_TRACES_LAST_SUCCESS_AGE: Final = "infertel.export.traces.last_success.age"
METRIC_EXPORT_LOGS_LAST_SUCCESS_AGE: Final = "infertel.export.logs.last_success.age"
METRIC_EXPORT_METRICS_LAST_SUCCESS_AGE: Final = "infertel.export.metrics.last_success.age"
METRIC_EXPORT_LAST_SUCCESS_AGE: Final = {
    "traces": METRIC_EXPORT_TRACES_LAST_SUCCESS_AGE,
    "logs": METRIC_EXPORT_LOGS_LAST_SUCCESS_AGE,
    "metrics": METRIC_EXPORT_METRICS_LAST_SUCCESS_AGE,
}
METRIC_REDACTION_CHILD_ALIVE: Final = "infertel.redaction.child.alive"
METRIC_REDACTION_CHILD_RESTARTS: Final = "infertel.redaction.child.restarts"
METRIC_SPOOL_SIZE: Final = "infertel.spool.size"

# --- rollout (infertel.rollout: RolloutGuard, routing switch, decisions) ---------------------
# OpenTelemetry feature-flag conventions, on every inference span: which flag routed the call
# and the variant (ring) it was routed to.
FEATURE_FLAG_KEY: Final = "feature_flag.key"
FEATURE_FLAG_VARIANT: Final = "feature_flag.result.variant"
# Log events: the pre-registered plan (once per configure) and each reported decision. Their
# bodies carry canonical JSON (plan_json / decision_json) so the hash can be checked on read.
EVENT_ROLLOUT_PLAN: Final = "ml.rollout.plan"
EVENT_ROLLOUT_DECISION: Final = "ml.rollout.decision"
ROLLOUT_DECISION: Final = "ml.rollout.decision"  # attribute: continue / promote / rollback
ROLLOUT_CRITERION: Final = "ml.rollout.criterion"  # attribute: the criteria that decided
ROLLOUT_PLAN_HASH: Final = "ml.rollout.plan_hash"
# Gauge: 0 continue, 1 promote, 2 rollback, 3 held by a sample-ratio mismatch.
METRIC_ROLLOUT_STATE: Final = "ml.rollout.state"
ROLLOUT_STATE_VALUES: Final = {"continue": 0, "promote": 1, "rollback": 2, "blocked": 3}
# --- end rollout ---------------------------------------------------------------------------
