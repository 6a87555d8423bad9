"""The baseline: what training (or validation) data looked like, as versioned JSON.

The parts (feature models, provenance, schema hash) live in :mod:`._schema`; building from a
frame in :mod:`._build`. Loading validates everything a run-time binner relies on and says
where a file is wrong.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from infertel.monitor._build import build_parts
from infertel.monitor._schema import (
    FORMAT,
    FORMAT_VERSION,
    BaselineError,
    CategoricalFeature,
    Feature,
    NumericFeature,
    PredictionBaseline,
    Provenance,
    _describe,
    _Strict,
    schema_hash,
)


class Baseline(_Strict):
    """A versioned baseline. Build one with :meth:`from_frame`, store it with :meth:`save`."""

    format: Literal["infertel.baseline"] = FORMAT
    format_version: int = FORMAT_VERSION
    schema_hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    provenance: Provenance
    features: dict[str, Feature] = Field(min_length=1)
    prediction: PredictionBaseline | None = None

    @model_validator(mode="after")
    def _hash_matches(self) -> Baseline:
        if self.format_version != FORMAT_VERSION:
            raise ValueError(f"format_version {self.format_version} is not supported "
                             f"(this infertel reads version {FORMAT_VERSION})")
        expected = schema_hash(self.features, self.prediction)
        if self.schema_hash != expected:
            raise ValueError("schema_hash does not match the features: the file was edited "
                             "by hand or is damaged")
        return self

    # -------------------------------------------------------------- building and storing
    @classmethod
    def from_frame(cls, data: Any, *, features: list[str] | None = None,
                   prediction: str | None = None, prediction_class: str | None = None,
                   bins: int = 20, k_floor: int = 10, dataset_version: str | None = None,
                   content_sha256: str | None = None,
                   categorical: list[str] | None = None) -> Baseline:
        """Build a baseline from a pandas or polars DataFrame or a numpy array.

        ``features``: the columns to keep (default: every column but the prediction ones;
        a 2-D numpy array needs them as its column names). ``prediction``: a numeric score
        column; ``prediction_class``: a class-label column. ``categorical``: numeric columns
        to treat as categories. ``content_sha256`` defaults to a hash of the values used.
        """
        return build_baseline(data, features=features, prediction=prediction,
                              prediction_class=prediction_class, bins=bins, k_floor=k_floor,
                              dataset_version=dataset_version, content_sha256=content_sha256,
                              categorical=categorical)

    def to_json(self) -> str:
        return self.model_dump_json(indent=1, exclude_none=False)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the baseline as JSON (atomically: a reader never sees half a file)."""
        target = Path(path)
        temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        temporary.write_text(self.to_json() + "\n", encoding="utf-8")
        temporary.replace(target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Baseline:
        """Read and validate a baseline; :class:`BaselineError` says what is wrong and where."""
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BaselineError(f"baseline not found: {source}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise BaselineError(f"cannot read baseline {source}: {error}") from None
        return cls.parse(text, source=str(source))

    @classmethod
    def parse(cls, text: str, *, source: str = "baseline") -> Baseline:
        try:
            raw = json.loads(text)
        except ValueError as error:
            raise BaselineError(f"{source}: not JSON ({error})") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise BaselineError(f"{source}: not an infertel baseline (no \"format\": "
                                f"\"{FORMAT}\")")
        try:
            return cls.model_validate(raw)
        except ValidationError as error:
            raise BaselineError(f"{source}: invalid baseline:\n{_describe(error)}") from None

    # -------------------------------------------------------------- run-time helpers
    def feature(self, name: str) -> NumericFeature | CategoricalFeature:
        try:
            return self.features[name]
        except KeyError:
            known = ", ".join(sorted(self.features))
            raise BaselineError(f"feature {name!r} is not in the baseline (it has: "
                                f"{known})") from None

    def prediction_bounds(self) -> list[float] | None:
        """The score buckets ``ml.prediction.value`` should use, when the baseline has scores."""
        if self.prediction is None or self.prediction.scores is None:
            return None
        return list(self.prediction.scores.bounds)




def build_baseline(data: Any, *, features: Sequence[str] | None = None,
                   prediction: str | None = None, prediction_class: str | None = None,
                   bins: int = 20, k_floor: int = 10, dataset_version: str | None = None,
                   content_sha256: str | None = None, categorical: Sequence[str] | None = None,
                   progress: Callable[[str], None] | None = None) -> Baseline:
    """:meth:`Baseline.from_frame` with a progress callback (called with each feature name)."""
    built, prediction_part, provenance = build_parts(
        data, features=features, prediction=prediction, prediction_class=prediction_class,
        bins=bins, k_floor=k_floor, dataset_version=dataset_version,
        content_sha256=content_sha256, categorical=categorical, progress=progress)
    return Baseline(schema_hash=schema_hash(built, prediction_part), provenance=provenance,
                    features=built, prediction=prediction_part)
