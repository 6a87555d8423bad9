"""PrivacyPolicy: one declared, auditable object that governs every exit."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

Detection = Literal["patterns", "ner"]


class RecognizerSpec(BaseModel):
    """A regular expression for an organisation's own identifiers (employee ids, case refs).

    If ``pattern`` has a group named ``value``, only that group is replaced.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    entity_type: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    pattern: str = Field(min_length=1)
    score: float = Field(0.85, ge=0, le=1)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"invalid regular expression: {error}") from error
        return value


class PrivacyPolicy(BaseModel):
    """What may leave the process, and how everything else is made safe.

    Field actions are declared where the data is, on ``@traced_inference(inputs=..., outputs=...)``:
    ``keep``, ``drop``, ``hash`` (keyed pseudonym), ``redact`` (PII detection on every string
    inside), ``bucket`` (numbers to declared ranges), ``truncate``. This policy sets how those
    actions behave, and what happens to everything else on every exit (span attributes and
    events, exception text, status descriptions, log bodies and attributes, metric attributes,
    resource attributes).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Scrub every exit with PII detection. Turning it off is for proving the scanner finds
    # leaks on a test store; a warning is logged when it is off.
    redaction: bool = True
    detection: Detection = "patterns"
    entities: tuple[str, ...] | None = None  # None: every entity the detector knows
    # Entities replaced by keyed pseudonyms instead of a plain <ENTITY> marker, so the same
    # person correlates across traces.
    pseudonymize_entities: tuple[str, ...] = ()
    custom_recognizers: tuple[RecognizerSpec, ...] = ()
    hmac_key: SecretStr | None = None
    hmac_key_file: Path | None = None
    hmac_key_id: str = Field("k1", pattern=r"^[A-Za-z0-9_.-]{1,16}$")
    # Parameters not named in ``inputs``: "drop" (the default) records nothing about them.
    default_action: Literal["drop", "redact", "hash"] = "drop"
    buckets: dict[str, tuple[float, ...]] = Field(default_factory=dict)
    default_buckets: tuple[float, ...] = (0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)
    truncate_length: int = Field(64, ge=1, le=100_000)
    # How ``ml.segment`` leaves the process: as given (after PII detection), or pseudonymised.
    segment_action: Literal["keep", "hash"] = "keep"
    segment_limit: int = Field(100, ge=1, le=10_000)
    # Per-record scrubbing budget: past it the record's payload is replaced by a marker.
    redaction_timeout_s: float = Field(0.25, gt=0, le=30)
    # Redact long payload strings in a child process, so detection does not compete with
    # serving threads for the interpreter lock: "auto" does so on machines with 2+ cores.
    redaction_process: Literal["auto", "on", "off"] = "auto"
    # Strings longer than this are cut before detection (and marked as cut).
    max_text_length: int = Field(20_000, ge=100)

    @field_validator("buckets")
    @classmethod
    def _sorted_boundaries(
        cls, value: dict[str, tuple[float, ...]]
    ) -> dict[str, tuple[float, ...]]:
        for path, boundaries in value.items():
            if list(boundaries) != sorted(set(boundaries)) or not boundaries:
                raise ValueError(f"bucket boundaries for {path!r} must be increasing and unique")
        return value

    def key_bytes(self) -> bytes | None:
        """The HMAC key: the policy's, else ``INFERTEL_HMAC_KEY``, else the key file."""
        if self.hmac_key is not None:
            return self.hmac_key.get_secret_value().encode()
        from_env = os.environ.get("INFERTEL_HMAC_KEY")
        if from_env:
            return from_env.encode()
        key_file = self.hmac_key_file or _env_path("INFERTEL_HMAC_KEY_FILE")
        if key_file is not None:
            try:
                return key_file.read_bytes().strip()
            except OSError as error:
                raise ValueError(f"cannot read the HMAC key file {key_file}: {error}") from error
        return None


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None
