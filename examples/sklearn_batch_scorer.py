"""Batch scoring with scikit-learn, traced by infertel.

Trains a small classifier on the breast-cancer dataset scikit-learn ships (no download), saves it
with pickle, describes the saved file with ``ModelInfo.from_artifact`` (sha256 digest, params
hash, framework version, git commit) and scores the held-out rows in batches through a method
decorated with ``@traced_inference(batch=True, ...)``. Every batch becomes one span carrying
``ml.batch.size`` and the returned scores; the model provenance is on the resource.

    python examples/sklearn_batch_scorer.py --local-dir ./infertel-data --batches 8
    infertel query ./infertel-data

Where telemetry goes: the ``--local-dir`` store when given; otherwise an OTLP collector when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; otherwise the local store in ``$INFERTEL_LOCAL_DIR`` or
``./infertel-data``. Needs ``pip install 'infertel[examples]'``.
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import infertel
from infertel import ModelInfo, traced_inference

MODEL_NAME = "tumor-batch-scorer"
MODEL_VERSION = "1.0.0"
SERVICE_NAME = "sklearn-batch-scorer"
HOLDOUT_SHARE = 0.25
SEED = 42


def _cohort(self: BatchScorer, rows: Sequence[Any]) -> str:
    """The segment of a call. It receives the same arguments as the method, ``self`` included."""
    return self.cohort


class BatchScorer:
    """Scores rows with a fitted scikit-learn classifier; one span per ``score_batch`` call."""

    def __init__(self, model: Any, cohort: str) -> None:
        self.model = model
        self.cohort = cohort

    @traced_inference(
        name="score_batch",
        batch=True,  # the first parameter after ``self`` (``rows``): its len() -> ml.batch.size
        ring="stable",
        segment=_cohort,
        outputs={"return": "keep"},  # the scores are not personal data: keep them on the span
    )
    def score_batch(self, rows: Sequence[Any]) -> list[float]:
        """Probability of the positive class for each row."""
        return [round(float(p), 4) for p in self.model.predict_proba(rows)[:, 1]]


def train_and_save(model_dir: Path) -> tuple[Path, ModelInfo, Any, Any]:
    """Train, pickle and describe the pickled artifact: (path, info, x_holdout, y_holdout)."""
    import sklearn
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, target = load_breast_cancer(return_X_y=True)
    x_train, x_holdout, y_train, y_holdout = train_test_split(
        features, target, test_size=HOLDOUT_SHARE, random_state=SEED, stratify=target
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x_train, y_train)

    model_dir.mkdir(parents=True, exist_ok=True)
    artifact = model_dir / f"{MODEL_NAME}-{MODEL_VERSION}.pkl"
    with artifact.open("wb") as handle:
        pickle.dump(model, handle)
    info = ModelInfo.from_artifact(
        artifact,
        name=MODEL_NAME,
        version=MODEL_VERSION,
        # Names the exact training data: the dataset ships with this scikit-learn release.
        dataset_version=f"sklearn-{sklearn.__version__}/breast_cancer/seed-{SEED}",
        params=model.get_params(),
        framework="scikit-learn",
        libraries=("numpy",),
    )
    return artifact, info, x_holdout, y_holdout


def _batches(rows: Any, count: int) -> list[Any]:
    size = math.ceil(len(rows) / count)
    return [rows[start:start + size] for start in range(0, len(rows), size)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Batch-score a scikit-learn model, traced.")
    parser.add_argument("--local-dir", type=Path, default=None,
                        help="write telemetry to this local store (wins over OTLP settings)")
    parser.add_argument("--batches", type=int, default=8,
                        help="split the held-out rows into this many batches (default 8)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="where to save the model (default: a new temporary folder)")
    args = parser.parse_args(argv)
    if args.batches < 1:
        parser.error("--batches must be at least 1")

    model_dir = args.model_dir or Path(tempfile.mkdtemp(prefix="infertel-batch-model-"))
    artifact, info, x_holdout, y_holdout = train_and_save(model_dir)
    print(f"model   {artifact} ({info.artifact_digest})")

    telemetry = infertel.configure(
        # OTEL_SERVICE_NAME, when set, names the service; an argument would override it.
        service_name=os.environ.get("OTEL_SERVICE_NAME", SERVICE_NAME),
        model=info,
        # An explicit --local-dir means the local store; otherwise the environment decides.
        exporter="local" if args.local_dir is not None else None,
        local_dir=args.local_dir,
    )
    log = infertel.get_logger("examples.batch_scorer")

    # Score with the model read back from the artifact: the digest describes what ran.
    with artifact.open("rb") as handle:
        scorer = BatchScorer(pickle.load(handle), cohort="holdout")
    batches = _batches(x_holdout, args.batches)
    scores: list[float] = []
    for rows in batches:
        scores.extend(scorer.score_batch(rows))

    labels = [int(score >= 0.5) for score in scores]
    accuracy = sum(p == t for p, t in zip(labels, y_holdout, strict=True)) / len(scores)
    log.info("batch scoring finished", rows=len(scores), batches=len(batches),
             accuracy=round(accuracy, 4), cohort=scorer.cohort,
             positive_rate=round(sum(labels) / len(labels), 4))
    print(f"scored  {len(scores)} rows in {len(batches)} batches, "
          f"holdout accuracy {accuracy:.3f}")

    settings = telemetry.settings
    if not infertel.shutdown(timeout=10.0):
        print("warning: telemetry did not finish exporting within 10 s", file=sys.stderr)
    if settings.exporter_name == "local":
        print(f"telemetry written to the local store {settings.local_dir}")
        print(f"next:   infertel query {settings.local_dir}")
    elif settings.exporter_name == "otlp":
        endpoint = settings.otlp_endpoint or "the OTEL_EXPORTER_OTLP_*_ENDPOINT URLs"
        # shutdown() reports only whether it finished in time, not whether the collector
        # accepted the data: check the collector (or the warnings above) for delivery.
        print(f"telemetry exported over OTLP ({settings.otlp_protocol}) to {endpoint}")
    else:
        print(f"telemetry exporter: {settings.exporter_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
