"""The parts of a baseline: feature models, provenance, the schema hash. Validated on load.

Numeric features keep OpenTelemetry explicit-histogram bounds (buckets are upper-inclusive:
bucket ``i`` holds ``bounds[i-1] < x <= bounds[i]``, bucket 0 is the underflow and the last
bucket the overflow) and the baseline share of every bucket. Categorical features keep the
categories seen at least ``k_floor`` times; everything else is the last bin, ``__other__``.

Loading validates everything a run-time binner relies on (strictly increasing finite bounds,
one share per bucket, shares summing to one) and says where a file is wrong.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FORMAT: Final = "infertel.baseline"
FORMAT_VERSION: Final = 1
OTHER: Final = "__other__"
# Shares are rounded when written; a sum off by more than this is a broken file.
_SHARE_TOLERANCE: Final = 1e-6


class BaselineError(ValueError):
    """A baseline cannot be built, read or used. ``str(error)`` is fit to show a user."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_shares(shares: list[float], count: int, where: str) -> None:
    if any(not math.isfinite(s) or s < 0 or s > 1 for s in shares):
        raise ValueError(f"{where}: shares must be finite numbers in [0, 1]")
    total = sum(shares)
    if count > 0 and abs(total - 1.0) > _SHARE_TOLERANCE * len(shares) + 1e-9:
        raise ValueError(f"{where}: shares sum to {total:.9f}, expected 1")


class NumericFeature(_Strict):
    """A numeric feature: explicit-histogram bounds and the baseline share of each bucket."""

    kind: Literal["numeric"] = "numeric"
    dtype: Literal["float", "int"] = "float"
    bounds: list[float] = Field(min_length=1)
    shares: list[float]
    # Mean of the baseline values in each bucket (a bound for an empty one): where Wasserstein
    # places each bucket's mass. Midpoints would misplace the wide tail buckets.
    centers: list[float]
    count: int = Field(ge=0, description="non-missing rows")
    missing_rate: float = Field(ge=0, le=1)
    min: float
    max: float
    mean: float
    std: float = Field(ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> NumericFeature:
        values = [*self.bounds, *self.centers, self.min, self.max, self.mean, self.std]
        if not all(math.isfinite(v) for v in values):
            raise ValueError("bounds, min, max, mean and std must be finite numbers")
        if any(later <= earlier for earlier, later in zip(self.bounds, self.bounds[1:],
                                                           strict=False)):
            raise ValueError("bounds must be strictly increasing")
        if len(self.shares) != len(self.bounds) + 1:
            raise ValueError(f"expected {len(self.bounds) + 1} shares (one per bucket, "
                             f"underflow and overflow included), got {len(self.shares)}")
        if len(self.centers) != len(self.shares):
            raise ValueError(f"expected {len(self.shares)} centers, got {len(self.centers)}")
        if self.min > self.max:
            raise ValueError("min is greater than max")
        _check_shares(self.shares, self.count, "numeric feature")
        return self

    @property
    def n_bins(self) -> int:
        return len(self.bounds) + 1

    def bin_labels(self) -> list[str]:
        """Bucket bounds as text, e.g. ``(0.5, 1.25]``: what reports show instead of values."""
        edges = [-math.inf, *self.bounds, math.inf]
        return [f"({_fmt(lo)}, {_fmt(hi)}]" if math.isfinite(hi) else f"({_fmt(lo)}, +inf)"
                for lo, hi in itertools.pairwise(edges)]


class CategoricalFeature(_Strict):
    """A categorical feature: categories seen at least ``k_floor`` times, then ``__other__``."""

    kind: Literal["categorical"] = "categorical"
    dtype: Literal["string", "bool"] = "string"
    categories: list[str]
    shares: list[float]
    count: int = Field(ge=0, description="non-missing rows")
    missing_rate: float = Field(ge=0, le=1)
    k_floor: int = Field(ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> CategoricalFeature:
        if len(set(self.categories)) != len(self.categories):
            raise ValueError("categories must be unique")
        if OTHER in self.categories:
            raise ValueError(f"{OTHER!r} is reserved for the bin of rare categories")
        if len(self.shares) != len(self.categories) + 1:
            raise ValueError(f"expected {len(self.categories) + 1} shares (one per category "
                             f"and one for {OTHER}), got {len(self.shares)}")
        _check_shares(self.shares, self.count, "categorical feature")
        return self

    @property
    def n_bins(self) -> int:
        return len(self.categories) + 1

    def bin_labels(self) -> list[str]:
        return [*self.categories, OTHER]


Feature = Annotated[NumericFeature | CategoricalFeature, Field(discriminator="kind")]


class PredictionBaseline(_Strict):
    """The prediction distribution: scores (numeric) and, for classifiers, classes."""

    score_column: str | None = None
    scores: NumericFeature | None = None
    class_column: str | None = None
    classes: CategoricalFeature | None = None


class Provenance(_Strict):
    dataset_version: str | None = None
    content_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    rows: int = Field(ge=0)
    created_at: str = Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$",
                            description="ISO-8601, UTC")


def schema_hash(features: dict[str, Any], prediction: PredictionBaseline | None) -> str:
    """sha256 over feature names, kinds and types (and prediction columns), order-free."""
    items = sorted((name, f.kind, f.dtype) for name, f in features.items())
    columns = [prediction.score_column, prediction.class_column] if prediction else [None, None]
    canonical = json.dumps({"features": items, "prediction": columns}, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "+inf"
    return f"{value:.6g}"
