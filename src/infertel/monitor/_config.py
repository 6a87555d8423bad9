"""DriftConfig: what to monitor, against which baseline, judged how. Frozen and validated."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from infertel.monitor._baseline import Baseline
from infertel.monitor._binner import Kind, baseline_name
from infertel.monitor._windows import DriftRules

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_window(value: str | float | int) -> float:
    """``"5m"``, ``"30s"``, ``"1h"``, ``"250ms"`` or a number of seconds -> seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"window {value!r}: use a duration such as '5m', '30s', '1h' or "
                             f"a number of seconds")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    if not 0.01 <= seconds <= 7 * 86400:
        raise ValueError(f"window {value!r}: must be between 10 ms and 7 days")
    return seconds


class DriftConfig(BaseModel):
    """Drift monitoring for :func:`infertel.configure` (``drift=DriftConfig(...)``).

    ``features`` maps the declared path of each monitored input (as in the decorator's
    ``inputs``, e.g. ``"req.amount"``) to ``"numeric"`` or ``"categorical"``; the baseline
    column is the path itself or the path without its first segment (``amount``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    baseline: Baseline
    features: dict[str, Kind] = Field(min_length=1)
    window: float = Field(300.0, description="window length in seconds ('5m' accepted)")
    rules: DriftRules = Field(default_factory=DriftRules)
    # out_of_range: more than this share of the baseline's [min, max] range outside it.
    margin: float = Field(0.1, ge=0)
    # missing_rate: a window's missing share above the baseline's by more than this.
    missing_rate_tolerance: float = Field(0.05, ge=0, le=1)
    exemplars: int = Field(3, ge=0, le=10, description="trace ids kept per window and group")
    max_groups: int = Field(64, ge=1, le=10_000,
                            description="(model, version, ring) groups tracked at most")
    # ml.prediction.value buckets; None: the baseline's score bounds when it has them.
    prediction_buckets: tuple[float, ...] | None = None

    @field_validator("baseline", mode="before")
    @classmethod
    def _load(cls, value: Any) -> Any:
        if isinstance(value, (str, Path)):
            return Baseline.load(value)
        return value

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> float:
        return parse_window(value)

    @field_validator("prediction_buckets")
    @classmethod
    def _increasing(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None and any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError("prediction_buckets must be strictly increasing")
        return value

    @model_validator(mode="after")
    def _kinds_match(self) -> DriftConfig:
        for path, kind in self.features.items():
            feature = self.baseline.features.get(baseline_name(path, self.baseline))
            if feature is not None and feature.kind != kind:
                raise ValueError(f"features[{path!r}] is declared {kind} but the baseline "
                                 f"has it as {feature.kind}")
        return self

    @property
    def window_ns(self) -> int:
        return int(self.window * 1e9)

    def prediction_bounds(self) -> list[float] | None:
        if self.prediction_buckets is not None:
            return list(self.prediction_buckets)
        return self.baseline.prediction_bounds()

    def schema_diff(self) -> dict[str, list[str]]:
        """How the monitored features differ from the baseline's schema (empty lists: same)."""
        names = {baseline_name(p, self.baseline) for p in self.features}
        return {
            "not_in_baseline": sorted(names - set(self.baseline.features)),
            "not_monitored": sorted(set(self.baseline.features) - names),
        }



def settings_event(config: DriftConfig) -> dict[str, Any]:
    """The ``ml.drift.baseline`` event body: enough to recompute drift from a store alone."""
    return {
        "baseline": config.baseline.model_dump_json(),
        "features": dict(config.features),
        "window_s": config.window,
        "rules": config.rules.model_dump_json(),
    }


def config_from_event(body: Any) -> DriftConfig:
    """The inverse of :func:`settings_event` (raises ValueError / BaselineError when the body
    is not one)."""
    if not isinstance(body, dict) or not isinstance(body.get("baseline"), str):
        raise ValueError("not an ml.drift.baseline event body")
    return DriftConfig(
        baseline=Baseline.parse(body["baseline"], source="the store's ml.drift.baseline event"),
        features=body.get("features") or {},
        window=body.get("window_s", 300.0),
        rules=DriftRules.model_validate_json(body["rules"]) if isinstance(
            body.get("rules"), str) else DriftRules(),
    )
