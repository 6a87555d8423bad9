"""Build a :class:`~infertel.monitor.Baseline` from a pandas or polars DataFrame or numpy array.

numpy is needed (imported here, lazily); pandas and polars only when the data is one of theirs.
Every column is first turned into one of two plain forms: a float64 array with NaN for missing
(numeric), or a list of strings with None for missing (categorical). Everything after that is
library-free, so the three inputs give identical baselines for identical data.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from infertel.monitor._schema import (
    OTHER,
    BaselineError,
    CategoricalFeature,
    NumericFeature,
    PredictionBaseline,
    Provenance,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Progress = Callable[[str], None]
# More categories than this become __other__ even above the k floor: every category is a metric
# series (ml.feature.bin) in every backend, so the count must stay bounded.
MAX_CATEGORIES = 50


@dataclass
class _Column:
    name: str
    dtype: str  # "float" | "int" | "string" | "bool"
    numbers: npt.NDArray[np.float64] | None = None  # numeric: NaN = missing
    labels: list[str | None] | None = None  # categorical: None = missing

    @property
    def numeric(self) -> bool:
        return self.numbers is not None


def build_parts(data: Any, *, features: Sequence[str] | None, prediction: str | None,
                prediction_class: str | None, bins: int, k_floor: int,
                dataset_version: str | None, content_sha256: str | None,
                categorical: Sequence[str] | None = None, progress: Progress | None = None,
                ) -> tuple[dict[str, NumericFeature | CategoricalFeature],
                           PredictionBaseline | None, Provenance]:
    """Features, prediction distribution and provenance of ``data`` (see Baseline.from_frame)."""
    if bins < 1 or bins > 1000:
        raise BaselineError(f"bins must be between 1 and 1000, got {bins}")
    if k_floor < 1:
        raise BaselineError(f"k_floor must be at least 1, got {k_floor}")
    columns, rows = _columns(data, features)
    wanted = _feature_names(columns, features, prediction, prediction_class)
    as_category = set(categorical or ())
    unknown = as_category - set(wanted)
    if unknown:
        raise BaselineError(f"--categorical names columns that are not features: "
                            f"{', '.join(sorted(unknown))}")
    if rows == 0:
        raise BaselineError("the data has no rows")
    built: dict[str, NumericFeature | CategoricalFeature] = {}
    for name in wanted:
        if progress is not None:
            progress(name)
        column = columns[name]
        if column.numeric and name in as_category:
            column = _as_labels(column)
        built[name] = _feature(column, rows, bins, k_floor)
    baseline_prediction = _prediction(columns, prediction, prediction_class, rows, bins)
    used = [columns[n] for n in sorted({*wanted, *(p for p in (prediction, prediction_class)
                                                     if p)})]
    digest = content_sha256 or content_hash(used)
    provenance = Provenance(
        dataset_version=dataset_version, content_sha256=digest, rows=rows,
        created_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )
    return built, baseline_prediction, provenance


def _feature_names(columns: dict[str, _Column], features: Sequence[str] | None,
                   prediction: str | None, prediction_class: str | None) -> list[str]:
    for role, name in (("prediction", prediction), ("prediction class", prediction_class)):
        if name is not None and name not in columns:
            raise BaselineError(f"{role} column {name!r} is not in the data (columns: "
                                f"{', '.join(columns)})")
    if features is None:
        wanted = [n for n in columns if n not in (prediction, prediction_class)]
    else:
        missing = [n for n in features if n not in columns]
        if missing:
            raise BaselineError(f"feature column(s) not in the data: {', '.join(missing)} "
                                f"(columns: {', '.join(columns)})")
        wanted = list(dict.fromkeys(features))
    if not wanted:
        raise BaselineError("no feature columns to describe")
    return wanted


# ------------------------------------------------------------------------ features
def _feature(column: _Column, rows: int, bins: int,
             k_floor: int) -> NumericFeature | CategoricalFeature:
    if column.numbers is not None:
        return numeric_feature(column.name, column.numbers, rows, bins,
                               "int" if column.dtype == "int" else "float")
    assert column.labels is not None
    return categorical_feature(column.name, column.labels, rows, k_floor,
                               "bool" if column.dtype == "bool" else "string")


def numeric_feature(name: str, numbers: npt.NDArray[np.float64], rows: int, bins: int,
                    dtype: str = "float") -> NumericFeature:
    """Quantile bounds (deduplicated for discrete data) plus underflow and overflow buckets.

    The first bound sits just below the minimum so the minimum itself lands in the first
    inner bucket (OTel buckets are upper-inclusive) and the baseline's underflow is empty.
    """
    import numpy as np

    present = numbers[~np.isnan(numbers)]
    if present.size == 0:
        raise BaselineError(f"feature {name!r} has no non-missing values")
    if not np.all(np.isfinite(present)):
        raise BaselineError(f"feature {name!r} holds infinite values")
    edges = [float(e) for e in np.unique(np.quantile(present, np.linspace(0.0, 1.0, bins + 1)))]
    lowest = edges[0]
    bounds = [math.nextafter(lowest, -math.inf), *edges]
    # The minimum gets a bucket of its own only when it is a frequent value (discrete data,
    # a spike at zero); for continuous data it joins the first quantile bucket.
    if len(edges) > 1 and np.count_nonzero(present == lowest) < present.size / (2 * bins):
        bounds.remove(lowest)
    index = np.searchsorted(np.asarray(bounds), present, side="left")
    counts = np.bincount(index, minlength=len(bounds) + 1)
    sums = np.bincount(index, weights=present, minlength=len(bounds) + 1)
    nearest = [bounds[0], *bounds]  # an empty bucket's center: its lower bound (or the lowest)
    centers = [float(s / c) if c else float(nearest[i]) for i, (s, c) in
               enumerate(zip(sums, counts, strict=True))]
    return NumericFeature(
        dtype="int" if dtype == "int" else "float",
        bounds=bounds,
        shares=[float(c) / present.size for c in counts],
        centers=centers,
        count=int(present.size),
        missing_rate=1.0 - present.size / rows,
        min=float(present.min()),
        max=float(present.max()),
        mean=float(present.mean()),
        std=float(present.std()),
    )


def categorical_feature(name: str, labels: Sequence[str | None], rows: int, k_floor: int,
                        dtype: str = "string") -> CategoricalFeature:
    counts = Counter(label for label in labels if label is not None)
    present = sum(counts.values())
    if present == 0:
        raise BaselineError(f"feature {name!r} has no non-missing values")
    # Most frequent first (ties by name, so the order is reproducible).
    frequent = sorted((item for item in counts.items() if item[1] >= k_floor and
                       item[0] != OTHER), key=lambda item: (-item[1], item[0]))
    kept = frequent[:MAX_CATEGORIES]
    other = present - sum(n for _, n in kept)
    return CategoricalFeature(
        dtype="bool" if dtype == "bool" else "string",
        categories=[label for label, _ in kept],
        shares=[n / present for _, n in kept] + [other / present],
        count=present,
        missing_rate=1.0 - present / rows,
        k_floor=k_floor,
    )


def _prediction(columns: dict[str, _Column], score: str | None, label: str | None, rows: int,
                bins: int) -> PredictionBaseline | None:
    if score is None and label is None:
        return None
    scores = classes = None
    if score is not None:
        column = columns[score]
        if column.numbers is None:
            raise BaselineError(f"prediction column {score!r} is not numeric (pass class "
                                f"labels as the prediction class column)")
        scores = numeric_feature(score, column.numbers, rows, bins)
    if label is not None:
        column = _as_labels(columns[label]) if columns[label].numeric else columns[label]
        assert column.labels is not None
        # Class labels are the model's outputs, not people: every class is kept.
        classes = categorical_feature(label, column.labels, rows, 1)
    return PredictionBaseline(score_column=score, scores=scores, class_column=label,
                              classes=classes)


def _as_labels(column: _Column) -> _Column:
    assert column.numbers is not None
    labels: list[str | None] = [
        None if math.isnan(v) else (str(int(v)) if float(v).is_integer() else repr(float(v)))
        for v in column.numbers.tolist()
    ]
    return _Column(column.name, "string", labels=labels)


def content_hash(columns: Sequence[_Column]) -> str:
    """sha256 over the values used, column by column in name order, library-independent."""
    import numpy as np

    digest = hashlib.sha256()
    for column in columns:
        digest.update(column.name.encode() + b"\x00")
        if column.numbers is not None:
            canonical = np.where(np.isnan(column.numbers), np.nan, column.numbers)
            digest.update(canonical.astype("<f8").tobytes())
        else:
            assert column.labels is not None
            for label in column.labels:
                digest.update(b"\x01" if label is None else label.encode() + b"\x1f")
    return digest.hexdigest()


# ------------------------------------------------------------------------ inputs
def _columns(data: Any, names: Sequence[str] | None) -> tuple[dict[str, _Column], int]:
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return _pandas_columns(data)
    if module == "polars":
        return _polars_columns(data)
    if module == "numpy":
        return _numpy_columns(data, names)
    raise BaselineError(f"cannot build a baseline from {type(data).__name__}: pass a pandas "
                        f"or polars DataFrame or a numpy array")


def _pandas_columns(frame: Any) -> tuple[dict[str, _Column], int]:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    if not isinstance(frame, pd.DataFrame):
        raise BaselineError("pass a pandas DataFrame, not a Series")
    columns: dict[str, _Column] = {}
    for raw_name in frame.columns:
        name = str(raw_name)
        series = frame[raw_name]
        if pd.api.types.is_bool_dtype(series.dtype):
            columns[name] = _Column(name, "bool", labels=_bool_labels(series.tolist()))
        elif pd.api.types.is_numeric_dtype(series.dtype):
            dtype = "int" if pd.api.types.is_integer_dtype(series.dtype) else "float"
            numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
            columns[name] = _Column(name, dtype, numbers=numbers)
        else:
            columns[name] = _Column(name, "string", labels=_text_labels(series.tolist()))
    return columns, len(frame)


def _polars_columns(frame: Any) -> tuple[dict[str, _Column], int]:
    import numpy as np
    import polars as pl

    if not isinstance(frame, pl.DataFrame):
        raise BaselineError("pass a polars DataFrame (collect a LazyFrame first)")
    columns: dict[str, _Column] = {}
    for name in frame.columns:
        series = frame.get_column(name)
        if series.dtype == pl.Boolean:
            columns[name] = _Column(name, "bool", labels=_bool_labels(series.to_list()))
        elif series.dtype.is_numeric():
            dtype = "int" if series.dtype.is_integer() else "float"
            numbers = series.cast(pl.Float64).fill_null(float("nan")).to_numpy()
            columns[name] = _Column(name, dtype, numbers=np.asarray(numbers, dtype=np.float64))
        else:
            columns[name] = _Column(name, "string", labels=_text_labels(series.to_list()))
    return columns, frame.height


def _numpy_columns(array: Any, names: Sequence[str] | None) -> tuple[dict[str, _Column], int]:
    if array.dtype.names:  # a structured array names its own columns
        columns = {}
        for name in array.dtype.names:
            columns[name] = _numpy_column(name, array[name])
        return columns, len(array)
    if array.ndim != 2:
        raise BaselineError(f"a numpy array must be 2-D (rows x features), got {array.ndim}-D")
    if names is None or len(names) != array.shape[1]:
        raise BaselineError(f"a plain numpy array needs features=[...] naming its "
                            f"{array.shape[1]} columns")
    return {name: _numpy_column(name, array[:, i]) for i, name in enumerate(names)}, \
        array.shape[0]


def _numpy_column(name: str, values: Any) -> _Column:
    import numpy as np

    kind = values.dtype.kind
    if kind == "b":
        return _Column(name, "bool", labels=_bool_labels(values.tolist()))
    if kind in "iuf":
        return _Column(name, "int" if kind in "iu" else "float",
                       numbers=values.astype(np.float64))
    return _Column(name, "string", labels=_text_labels(values.tolist()))


def _bool_labels(values: list[Any]) -> list[str | None]:
    return [None if v is None or _is_nan(v) else ("true" if v else "false") for v in values]


def _text_labels(values: list[Any]) -> list[str | None]:
    return [None if v is None or _is_nan(v) else str(v) for v in values]


def _is_nan(value: Any) -> bool:
    try:
        # NaN compares unequal to itself; pandas.NA refuses to become a bool.
        return bool(value != value)
    except (TypeError, ValueError):
        return True
