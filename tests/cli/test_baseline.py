"""``infertel baseline build`` on real CSV and Parquet files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from infertel.cli import app
from infertel.monitor import Baseline


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 3000
    return pd.DataFrame({
        "amount": rng.gamma(2.0, 30.0, n),
        "age": rng.integers(18, 90, n),
        "country": rng.choice(["de", "fr", "us"], n),
        "score": rng.random(n),
    })


def test_csv_and_parquet_give_the_same_bins(frame, tmp_path: Path):
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.to_parquet(tmp_path / "train.parquet")
    for name in ("train.csv", "train.parquet"):
        result = run("baseline", "build", tmp_path / name, "--out", tmp_path / f"{name}.json",
                     "--prediction", "score", "--dataset-version", "txn-1")
        assert result.exit_code == 0, result.output
    from_csv = Baseline.load(tmp_path / "train.csv.json")
    from_parquet = Baseline.load(tmp_path / "train.parquet.json")
    assert from_csv.features.keys() == {"amount", "age", "country"}
    assert from_csv.features["amount"].shares == pytest.approx(
        from_parquet.features["amount"].shares)
    assert from_csv.features["country"] == from_parquet.features["country"]
    assert from_csv.prediction == from_parquet.prediction
    # Provenance: the sha256 of the file's bytes, the row count, the version given.
    expected = hashlib.sha256((tmp_path / "train.csv").read_bytes()).hexdigest()
    assert from_csv.provenance.content_sha256 == expected
    assert from_csv.provenance.rows == len(frame)
    assert from_csv.provenance.dataset_version == "txn-1"
    # The same binning as the library on the same data.
    direct = Baseline.from_frame(frame, prediction="score")
    assert from_parquet.features == direct.features


def test_features_and_categorical_options(frame, tmp_path):
    frame.to_parquet(tmp_path / "t.parquet")
    result = run("baseline", "build", tmp_path / "t.parquet", "-o", tmp_path / "b.json",
                 "--features", "age, country", "--categorical", "age", "--k-floor", "5")
    assert result.exit_code == 0, result.output
    baseline = Baseline.load(tmp_path / "b.json")
    assert list(baseline.features) == ["age", "country"]
    assert baseline.features["age"].kind == "categorical"
    assert baseline.prediction is None


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "missing.csv", "data file not found"),
    (lambda d: (d / "x.txt").write_text("a\n1\n") and d / "x.txt", "unsupported file type"),
    (lambda d: (d / "x.parquet").write_text("jane.doe@example.com,1\n") and d / "x.parquet",
     "cannot read"),
])
def test_errors_are_one_line_exit_2_and_never_quote_data(tmp_path, make, message):
    result = run("baseline", "build", make(tmp_path), "--out", tmp_path / "b.json")
    assert result.exit_code == 2
    assert message in result.output
    assert "jane.doe" not in result.output
    assert "Traceback" not in result.output


def test_unknown_feature_is_named(frame, tmp_path):
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = run("baseline", "build", tmp_path / "t.csv", "--features", "amount,nope")
    assert result.exit_code == 2
    assert "not in the data: nope" in result.output
