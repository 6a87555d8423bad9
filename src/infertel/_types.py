"""Literal types shared by the configuration and the decorator (no heavy imports here)."""

from __future__ import annotations

from typing import Literal

ExporterName = Literal["otlp", "local", "console", "none"]
OtlpProtocol = Literal["grpc", "http/protobuf"]
Ring = Literal["stable", "canary", "shadow"]
# What to do with a declared input/output field (see PrivacyPolicy for how each behaves).
Action = Literal["keep", "drop", "hash", "redact", "bucket", "truncate"]
