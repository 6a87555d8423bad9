"""FeatureBinner: a feature snapshot -> one bin index per feature, plus validation violations.

Runs in the worker, inside the privacy boundary: raw values come in, only bin indices and
(feature, kind) pairs go out. ``bisect`` on the baseline bounds gives the OpenTelemetry bucket
(upper-inclusive) without numpy.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from infertel.monitor._baseline import Baseline
from infertel.monitor._schema import CategoricalFeature, NumericFeature

Kind = Literal["numeric", "categorical"]
ViolationKind = Literal["missing", "extra", "type", "out_of_range", "missing_rate"]
VIOLATION_KINDS: Final[tuple[ViolationKind, ...]] = (
    "missing", "extra", "type", "out_of_range", "missing_rate")
MISSING: Final = -1  # bin index of a missing value (not a histogram bucket)
EXTRA: Final = "__extra__"  # the feature name of "extra" violations
# Values reported as one bin index; None marks a feature the baseline cannot bin.
Bins = list[int]


def baseline_name(path: str, baseline: Baseline) -> str:
    """The baseline column a declared path stands for: the path itself when the baseline has
    it, else the path without its first segment (``req.amount`` -> ``amount``), else the last
    segment."""
    if path in baseline.features:
        return path
    tail = path.split(".", 1)[-1]
    if tail in baseline.features:
        return tail
    return path.rsplit(".", 1)[-1]


class FeatureBinner:
    """Bins the declared features of one call against the baseline.

    ``features`` maps a declared path (as the decorator snapshots it) to its kind. ``margin``:
    how far outside the baseline's [min, max], as a share of that range, a value must be to
    count as ``out_of_range`` (it is still counted, in the under- or overflow bucket).
    """

    __slots__ = ("_categories", "_high", "_kinds", "_low", "_numeric_bounds", "names", "paths")

    def __init__(self, baseline: Baseline, features: Mapping[str, Kind],
                 margin: float = 0.1) -> None:
        self.paths: tuple[str, ...] = tuple(features)
        self.names: tuple[str, ...] = tuple(baseline_name(p, baseline) for p in self.paths)
        self._kinds: tuple[Kind, ...] = tuple(features.values())
        self._numeric_bounds: list[list[float] | None] = []
        self._categories: list[dict[str, int] | None] = []
        self._low: list[float] = []
        self._high: list[float] = []
        for name, kind in zip(self.names, self._kinds, strict=True):
            feature = baseline.features.get(name)
            bounds = categories = None
            low, high = -math.inf, math.inf
            if isinstance(feature, NumericFeature) and kind == "numeric":
                bounds = list(feature.bounds)
                slack = margin * (feature.max - feature.min)
                low, high = feature.min - slack, feature.max + slack
            elif isinstance(feature, CategoricalFeature) and kind == "categorical":
                categories = {label: i for i, label in enumerate(feature.categories)}
            self._numeric_bounds.append(bounds)
            self._categories.append(categories)
            self._low.append(low)
            self._high.append(high)

    def bin(self, snapshot: Mapping[str, Any]) -> tuple[Bins, list[tuple[str, ViolationKind]]]:
        """Bin indices in declaration order (``MISSING`` for a missing or unusable value) and
        the violations found. A feature the baseline lacks gets ``MISSING`` too."""
        bins: Bins = []
        violations: list[tuple[str, ViolationKind]] = []
        found = 0
        for i, path in enumerate(self.paths):
            value = snapshot.get(path, _ABSENT)
            name = self.names[i]
            if value is not _ABSENT:
                found += 1
            if value is _ABSENT or value is None or (isinstance(value, float) and value != value):
                violations.append((name, "missing"))
                bins.append(MISSING)
                continue
            if self._kinds[i] == "numeric":
                index = self._numeric(i, value, name, violations)
            else:
                index = self._categorical(i, value, name, violations)
            bins.append(index)
        if found < len(snapshot):
            # Keys beyond the declared ones, reported once and unnamed: a key of a payload
            # mapping can itself be personal (a dict keyed by e-mail), and names are unbounded.
            violations.append((EXTRA, "extra"))
        return bins, violations

    def _numeric(self, i: int, value: Any, name: str,
                 violations: list[tuple[str, ViolationKind]]) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            violations.append((name, "type"))
            return MISSING
        number = float(value)
        if not math.isfinite(number) or number < self._low[i] or number > self._high[i]:
            violations.append((name, "out_of_range"))
        bounds = self._numeric_bounds[i]
        if bounds is None:
            return MISSING
        return bisect_left(bounds, number)  # +-inf land in the under/overflow bucket

    def _categorical(self, i: int, value: Any, name: str,
                     violations: list[tuple[str, ViolationKind]]) -> int:
        if isinstance(value, bool):
            label = "true" if value else "false"
        elif isinstance(value, (str, int)):
            label = str(value)
        else:
            violations.append((name, "type"))
            return MISSING
        categories = self._categories[i]
        if categories is None:
            return MISSING
        return categories.get(label, len(categories))  # unseen -> __other__


def numeric_kinds(baseline: Baseline, names: Sequence[str]) -> dict[str, Kind]:
    """Each named baseline feature with its kind (a convenience for configs and tests)."""
    return {name: baseline.feature(name).kind for name in names}


_ABSENT: Final = object()
