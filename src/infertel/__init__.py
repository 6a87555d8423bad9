"""infertel: privacy-aware OpenTelemetry telemetry for machine-learning inference.

Importing infertel and decorating functions stays light: the OpenTelemetry SDK, pydantic models
and exporters load when first used (``configure()``, ``ModelInfo``, ``PrivacyPolicy``...).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from infertel._version import VERSION as __version__
from infertel.hotpath import traced_inference

if TYPE_CHECKING:
    from infertel._api import configure, get_logger, shutdown
    from infertel._provenance import ModelInfo
    from infertel.errors import ConfigurationError
    from infertel.monitor import Baseline, DriftConfig  # drift monitoring (issue 10)
    from infertel.pipeline._lifecycle import health
    from infertel.pipeline._telemetry import Telemetry
    from infertel.privacy._policy import PrivacyPolicy, RecognizerSpec
    from infertel.rollout import RolloutGuard  # rollout (issue 11)

__all__ = [
    "Baseline",
    "ConfigurationError",
    "DriftConfig",
    "ModelInfo",
    "PrivacyPolicy",
    "RecognizerSpec",
    "RolloutGuard",
    "Telemetry",
    "__version__",
    "configure",
    "get_logger",
    "health",
    "shutdown",
    "traced_inference",
]

# Public name -> the private module that defines it, imported on first access (PEP 562).
_LAZY = {
    "ConfigurationError": "infertel.errors",
    "configure": "infertel._api",
    "get_logger": "infertel._api",
    "shutdown": "infertel._api",
    "health": "infertel.pipeline._lifecycle",  # telemetry path status for probes
    "ModelInfo": "infertel._provenance",
    "Telemetry": "infertel.pipeline._telemetry",
    "PrivacyPolicy": "infertel.privacy._policy",
    "RecognizerSpec": "infertel.privacy._policy",
    "Baseline": "infertel.monitor",  # drift monitoring (issue 10)
    "DriftConfig": "infertel.monitor",
    "RolloutGuard": "infertel.rollout",  # rollout (issue 11)
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'infertel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
