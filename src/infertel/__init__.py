"""infertel: privacy-aware OpenTelemetry telemetry for machine-learning inference."""

from infertel._api import configure, get_logger, shutdown
from infertel._decorator import traced_inference
from infertel._provenance import ModelInfo
from infertel._runtime import Telemetry
from infertel._version import VERSION as __version__
from infertel.privacy._policy import PrivacyPolicy, RecognizerSpec

__all__ = [
    "ModelInfo",
    "PrivacyPolicy",
    "RecognizerSpec",
    "Telemetry",
    "__version__",
    "configure",
    "get_logger",
    "shutdown",
    "traced_inference",
]
