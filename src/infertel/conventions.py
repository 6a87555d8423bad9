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
