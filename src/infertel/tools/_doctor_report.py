"""What ``infertel doctor`` was asked (:class:`DoctorOptions`) and what it found
(:class:`Report`): the types its check modules share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from infertel.tools._urls import mask_urls

Status = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


@dataclass
class DoctorOptions:
    endpoint: str | None = None
    protocol: Literal["grpc", "http/protobuf"] | None = None
    ner: bool = False
    collector_out: Path | None = None
    # Where the health span goes: None (nowhere), "otlp", an OTLP URL, or a store folder.
    send_to: str | None = None
    timeout_s: float = 5.0
    wait_s: float = 15.0


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    trace_id: str | None = None
    health: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        return any(check.status == "fail" for check in self.checks)

    def add(self, name: str, status: Status, detail: str) -> None:
        # The one way into the report: no URL credential can reach the output.
        self.checks.append(Check(name, status, mask_urls(detail)))
