"""The demo's model service: two versions of a scikit-learn classifier behind @traced_inference.

Stable and canary are trained on the breast-cancer dataset scikit-learn ships (no download).
The canary carries a deliberate preprocessing bug that fails some calls, so the demo store has
something for an SRE to find.
"""

from __future__ import annotations

import pickle
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infertel import ModelInfo, get_logger, traced_inference

STABLE_VERSION = "1.4.0"
CANARY_VERSION = "1.5.0-rc1"
MODEL_NAME = "tumor-classifier"
DATASET_VERSION = "sklearn-breast-cancer-1.0"
TIERS = ("free", "pro", "enterprise")
REGIONS = ("eu", "us", "apac")

# Synthetic free text with invented contact details: the kind of field that must never reach
# telemetry unredacted. The demo declares it, so its handling is visible in the store.
_NOTES = (
    "patient asked for a call back at +44 20 7946 0958",
    "referred by the clinic, email results to jane.doe@example.com",
    "second opinion requested",
    "insurance card 4111 1111 1111 1111 on file",
    "portal login https://portal.example.com/?token=9f8e7d6c5b4a3f2e1d0c from 203.0.113.42",
    "",
    "follow-up in two weeks",
)


@dataclass(frozen=True)
class ScoringRequest:
    patient_ref: str
    tier: str
    region: str
    features: list[float]
    note: str

    # --- drift monitoring (issue 10): named scalar features the demo's DriftConfig watches.
    @property
    def mean_radius(self) -> float:
        return self.features[0]

    @property
    def mean_texture(self) -> float:
        return self.features[1]

    @property
    def mean_smoothness(self) -> float:
        return self.features[4]

    @property
    def mean_symmetry(self) -> float:
        return self.features[8]


# Drift monitoring in the demo (issue 10): the four features above against a baseline of the
# training data; from DRIFT_AT of the run on, mean radius is shifted up by DRIFT_SD standard
# deviations (larger tumours arrive), which `infertel drift` and `infertel report` then show.
DRIFT_FEATURES = {"req.mean_radius": 0, "req.mean_texture": 1, "req.mean_smoothness": 4,
                  "req.mean_symmetry": 8}
DRIFTED_FEATURE = "mean_radius"
DRIFT_AT = 0.25
DRIFT_SD = 1.0


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    extra: dict[str, Any] = field(default_factory=dict)


class CanaryPreprocessingError(ValueError):
    """The canary's bug: it rejects feature vectors the stable version accepts."""


class DemoService:
    """Both model versions and their decorated predict functions."""

    def __init__(self, workdir: Path | None = None, seed: int = 7) -> None:
        try:
            from sklearn.datasets import load_breast_cancer
            from sklearn.ensemble import RandomForestClassifier
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler
        except ImportError as error:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "the demo needs scikit-learn: pip install 'infertel[demo]'"
            ) from error
        data = load_breast_cancer()
        self.rows: list[list[float]] = [list(map(float, row)) for row in data.data]
        self.targets = list(data.target_names)
        self._random = random.Random(seed)
        workdir = workdir or Path(tempfile.mkdtemp(prefix="infertel-demo-models-"))
        workdir.mkdir(parents=True, exist_ok=True)

        stable = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
        stable.fit(data.data, data.target)
        canary = RandomForestClassifier(n_estimators=20, max_depth=6, random_state=seed)
        canary.fit(data.data, data.target)
        self.stable_model, self.canary_model = stable, canary
        self.stable_info = _save(stable, workdir / "stable.pkl", STABLE_VERSION)
        self.canary_info = _save(canary, workdir / "canary.pkl", CANARY_VERSION)
        self._drift_at = float("inf")  # time.monotonic() when the injected drift starts
        self._radius_sd = float(data.data[:, 0].std())
        self._data, self._stable_scores = data.data, stable.predict_proba(data.data)[:, 1]
        self._log = get_logger("demo.service")
        self.predict_stable = self._decorate(self._predict_stable, self.stable_info, "stable")
        self.predict_canary = self._decorate(self._predict_canary, self.canary_info, "canary")
        self.score_batch = traced_inference(
            name="score_batch", model=self.stable_info, ring="stable", segment="batch",
            batch="rows", outputs={"return": "keep"},
        )(self._score_batch)

    def _decorate(self, fn: Any, info: ModelInfo, ring: Any) -> Any:
        return traced_inference(
            name="predict",
            model=info,
            ring=ring,
            segment=lambda req: f"{req.tier}-{req.region}",
            inputs={
                "req.features": "keep",
                "req.tier": "keep",
                "req.patient_ref": "hash",  # keyed pseudonym: correlates, never identifies
                "req.note": "redact",  # free text: PII detection on every call
            },
            outputs={"label": "keep", "score": "keep"},
        )(fn)

    def request(self) -> ScoringRequest:
        r = self._random
        features = r.choice(self.rows)
        if time.monotonic() >= self._drift_at:  # the injected drift (issue 10)
            features = [features[0] + DRIFT_SD * self._radius_sd, *features[1:]]
        return ScoringRequest(
            patient_ref=f"P-{r.randrange(10**6):06d}",
            tier=r.choices(TIERS, weights=(6, 3, 1))[0],
            region=r.choice(REGIONS),
            features=features,
            note=r.choice(_NOTES),
        )

    def drift_settings(self, seconds: float) -> dict[str, Any]:
        """``configure()`` arguments for the demo's drift monitoring, and the drift's start.

        Windows of an eighth of the run (at least 0.5 s) and metric exports twice per window,
        so a 4-second demo has 8 windows for `infertel drift` to judge from the store.
        """
        import numpy as np

        from infertel.monitor import Baseline, DriftConfig, DriftRules

        columns = {path.split(".", 1)[1]: self._data[:, i] for path, i in
                   DRIFT_FEATURES.items()}
        baseline = Baseline.from_frame(
            np.column_stack([*columns.values(), self._stable_scores]),
            features=[*columns, "score"], prediction="score", bins=5,
            dataset_version=DATASET_VERSION)
        window = max(0.5, seconds / 8)
        # A demo sees ~100-1,000 calls a second: windows of 100 calls, 5 bins and PSI alone
        # (JS distance is noisy on 100 calls), and 2 of 3 windows to raise, so a 4-second run
        # can show a whole alert. Production defaults: 1,000 calls, 20 bins, PSI and JS, 3 of 5.
        rules = DriftRules(thresholds={"psi": (0.1, 0.25)}, min_count=100, alert_after=2,
                           of_last=3)
        config = DriftConfig(baseline=baseline, features=dict.fromkeys(DRIFT_FEATURES,
                                                                       "numeric"),
                             window=window, rules=rules)
        self._drift_at = time.monotonic() + DRIFT_AT * seconds
        return {"drift": config, "metric_interval_s": window / 2}

    def rollout_guard(self, canary_share: float) -> Any:
        """The demo's rollout guard (issue 11): canary versus stable on the error rate, per
        tier-region segment; a rollback flips ``infertel.rollout.active_version()``. (Latency
        is left out of this plan: the canary is a forest, slower than the stable logistic
        regression by design, and the demo is about the canary's bug.)"""
        from infertel.rollout import ErrorRate, RolloutGuard

        # tau = 3 points: the plan is tuned to catch a few points of extra errors quickly
        # (a 4-second demo gives the canary a few hundred calls).
        return RolloutGuard(criteria=[ErrorRate(tau=0.03)], min_samples=100,
                            candidate_share=canary_share if 0 < canary_share < 1 else None,
                            look_lag_s=0.1, report_every_s=1.0)

    def _predict_stable(self, req: ScoringRequest) -> Prediction:
        if self._random.random() < 0.005:
            raise TimeoutError("feature store lookup timed out")
        score = float(self.stable_model.predict_proba([req.features])[0][1])
        return Prediction(label=self.targets[int(score >= 0.5)], score=round(score, 4))

    def _predict_canary(self, req: ScoringRequest) -> Prediction:
        # The bug under test: the canary's new preprocessing rejects large tumours from the
        # enterprise tier (the condition is deterministic so the demo always finds it).
        if req.tier == "enterprise" and req.features[0] > 14.0:
            raise CanaryPreprocessingError("mean radius outside the canary's scaler range")
        score = float(self.canary_model.predict_proba([req.features])[0][1])
        self._log.info("canary scored", tier=req.tier, score=round(score, 4))
        return Prediction(label=self.targets[int(score >= 0.5)], score=round(score, 4))

    def _score_batch(self, rows: list[list[float]]) -> list[float]:
        return [round(float(p[1]), 4) for p in self.stable_model.predict_proba(rows)]


def _save(model: Any, path: Path, version: str) -> ModelInfo:
    with path.open("wb") as handle:
        pickle.dump(model, handle)
    return ModelInfo.from_artifact(
        path,
        name=MODEL_NAME,
        version=version,
        dataset_version=DATASET_VERSION,
        params=model.get_params(),
        framework="scikit-learn",
    )
