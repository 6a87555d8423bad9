"""Baseline building (pandas, polars, numpy) and its versioned JSON, checked against
independent computations on the same data."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from infertel.monitor import OTHER, Baseline, BaselineError, CategoricalFeature, NumericFeature


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 4000
    amount = rng.lognormal(3.0, 0.8, n)
    amount[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({
        "amount": amount,
        "items": rng.integers(0, 6, n),
        "country": rng.choice(["de", "fr", "us", "nl"], n, p=[0.4, 0.3, 0.25, 0.05]),
        "vip": rng.random(n) < 0.2,
        "score": rng.random(n),
        "label": rng.choice(["fraud", "ok"], n, p=[0.1, 0.9]),
    })


def test_numeric_bins_are_baseline_quantiles_with_empty_under_and_overflow(frame):
    baseline = Baseline.from_frame(frame, features=["amount"])
    feature = baseline.features["amount"]
    assert isinstance(feature, NumericFeature)
    present = frame["amount"].dropna().to_numpy()
    assert len(feature.bounds) == 21  # 20 inner buckets + under/overflow = 22 shares
    assert len(feature.shares) == 22
    assert feature.shares[0] == 0.0
    assert feature.shares[-1] == 0.0
    # Independent binning of the same data: pandas.cut with upper-inclusive intervals.
    edges = [-np.inf, *feature.bounds, np.inf]
    reference = pd.Series(pd.cut(present, edges, right=True)).value_counts(sort=False).to_numpy()
    assert feature.shares == pytest.approx(list(reference / present.size), abs=1e-12)
    assert all(abs(s - 0.05) < 0.002 for s in feature.shares[1:-1])
    assert feature.min == present.min()
    assert feature.max == present.max()
    assert feature.mean == pytest.approx(present.mean())
    assert feature.std == pytest.approx(
        present.std())
    assert feature.missing_rate == pytest.approx(frame["amount"].isna().mean())
    assert feature.dtype == "float"


def test_discrete_numeric_feature_gets_one_bucket_per_value(frame):
    feature = Baseline.from_frame(frame, features=["items"]).features["items"]
    assert isinstance(feature, NumericFeature)
    assert feature.dtype == "int"
    counts = frame["items"].value_counts(normalize=True).sort_index().to_list()
    assert feature.shares[1:-1] == pytest.approx(counts)


def test_categories_below_k_floor_become_other():
    values = ["a"] * 30 + ["b"] * 10 + ["c"] * 9 + ["jane.doe@example.com"] + [None] * 5
    frame = pd.DataFrame({"cat": values})
    feature = Baseline.from_frame(frame, k_floor=10).features["cat"]
    assert isinstance(feature, CategoricalFeature)
    assert feature.categories == ["a", "b"]
    assert feature.bin_labels() == ["a", "b", OTHER]
    assert feature.shares == pytest.approx([30 / 50, 10 / 50, 10 / 50])
    assert feature.missing_rate == pytest.approx(5 / 55)
    # The rare (personal) value is nowhere in the file.
    assert "jane.doe" not in Baseline.from_frame(frame, k_floor=10).to_json()
    assert Baseline.from_frame(frame, k_floor=9).features["cat"].categories == ["a", "b", "c"]


def test_pandas_polars_and_numpy_give_the_same_baseline(frame):
    numeric = frame[["amount", "items", "score"]]
    from_pandas = Baseline.from_frame(numeric, prediction="score", dataset_version="v1")
    from_polars = Baseline.from_frame(pl.from_pandas(numeric), prediction="score",
                                      dataset_version="v1")
    array = numeric.to_numpy(dtype=np.float64)
    from_numpy = Baseline.from_frame(array, features=["amount", "items", "score"],
                                     prediction="score", dataset_version="v1")
    assert from_pandas.features == from_polars.features
    assert from_pandas.provenance.content_sha256 == from_polars.provenance.content_sha256
    assert from_pandas.schema_hash == from_polars.schema_hash
    # numpy has no integer column here (the array is float), so only the type differs.
    assert from_numpy.features["amount"] == from_pandas.features["amount"]
    assert from_numpy.features["items"].shares == from_pandas.features["items"].shares
    assert from_numpy.schema_hash != from_pandas.schema_hash  # "items" is float, not int


def test_mixed_polars_frame_matches_pandas(frame):
    a = Baseline.from_frame(frame, prediction="score", prediction_class="label")
    b = Baseline.from_frame(pl.from_pandas(frame), prediction="score", prediction_class="label")
    assert a.features == b.features
    assert a.prediction == b.prediction
    assert a.features["vip"].dtype == "bool"


def test_prediction_distribution_scores_and_classes(frame):
    baseline = Baseline.from_frame(frame, prediction="score", prediction_class="label")
    assert "score" not in baseline.features
    assert "label" not in baseline.features
    assert baseline.prediction is not None
    assert baseline.prediction.scores is not None
    assert baseline.prediction_bounds() == baseline.prediction.scores.bounds
    classes = baseline.prediction.classes
    assert classes is not None
    assert sorted(classes.categories) == ["fraud", "ok"]
    assert classes.shares[classes.categories.index("fraud")] == pytest.approx(
        (frame["label"] == "fraud").mean())


def test_provenance(frame):
    baseline = Baseline.from_frame(frame, dataset_version="txn-2025-07")
    p = baseline.provenance
    assert p.rows == len(frame)
    assert p.dataset_version == "txn-2025-07"
    created = datetime.fromisoformat(p.created_at.replace("Z", "+00:00"))
    assert created.utcoffset() is not None
    assert created.utcoffset().total_seconds() == 0
    changed = frame.copy()
    changed.loc[0, "amount"] = 1e6
    assert Baseline.from_frame(changed).provenance.content_sha256 != p.content_sha256
    assert Baseline.from_frame(frame.copy()).provenance.content_sha256 == p.content_sha256


def test_save_load_round_trip(frame, tmp_path: Path):
    baseline = Baseline.from_frame(frame, prediction="score")
    path = baseline.save(tmp_path / "baseline.json")
    assert Baseline.load(path) == baseline
    data = json.loads(path.read_text())
    assert data["format"] == "infertel.baseline"
    assert data["format_version"] == 1


def _edited(baseline: Baseline, tmp_path: Path, edit) -> Path:
    data = json.loads(baseline.to_json())
    edit(data)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["features"]["amount"]["bounds"].reverse(), "strictly increasing"),
    (lambda d: d["features"]["amount"]["shares"].pop(), "expected 22 shares"),
    (lambda d: d["features"]["amount"].__setitem__("missing_rate", 2), "features.amount"),
    (lambda d: d["features"]["amount"].__setitem__("kind", "text"), "features.amount"),
    (lambda d: d.__setitem__("format_version", 99), "format_version 99 is not supported"),
    (lambda d: d["features"].__setitem__("renamed", d["features"].pop("amount")),
     "schema_hash does not match"),
    (lambda d: d["provenance"].__setitem__("created_at", "yesterday"), "provenance.created_at"),
    (lambda d: d["features"]["amount"]["shares"].__setitem__(5, 0.5), "shares sum to"),
])
def test_invalid_files_are_rejected_with_the_place(frame, tmp_path, edit, message):
    baseline = Baseline.from_frame(frame[["amount"]], bins=20)
    with pytest.raises(BaselineError, match=message):
        Baseline.load(_edited(baseline, tmp_path, edit))


def test_load_errors_for_missing_and_foreign_files(tmp_path):
    with pytest.raises(BaselineError, match="not found"):
        Baseline.load(tmp_path / "nope.json")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(BaselineError, match="not JSON"):
        Baseline.load(tmp_path / "x.json")
    (tmp_path / "y.json").write_text('{"resourceSpans": []}')
    with pytest.raises(BaselineError, match="not an infertel baseline"):
        Baseline.load(tmp_path / "y.json")


def test_build_errors_name_the_problem(frame):
    with pytest.raises(BaselineError, match="not in the data: nope"):
        Baseline.from_frame(frame, features=["nope"])
    with pytest.raises(BaselineError, match="needs features"):
        Baseline.from_frame(np.zeros((3, 2)))
    with pytest.raises(BaselineError, match="no non-missing values"):
        Baseline.from_frame(pd.DataFrame({"x": [math.nan, math.nan]}))
    with pytest.raises(BaselineError, match="cannot build a baseline from list"):
        Baseline.from_frame([[1, 2]])
    with pytest.raises(BaselineError, match="not numeric"):
        Baseline.from_frame(frame, prediction="label")
