"""A real pipeline writing to a real local store, and a check that planted values are absent
from everything it wrote (in every normalised form)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import infertel
from infertel.pipeline import _lifecycle


def configure_store(store: Path, **kwargs: object) -> infertel.Telemetry:
    return infertel.configure(service_name="leak-test", exporter="local", local_dir=store,
                                   metric_interval_s=3600, **kwargs)  # type: ignore[arg-type]


def flush_all(telemetry: infertel.Telemetry) -> None:
    assert telemetry.flush(timeout=30)
    telemetry.meter_provider.force_flush(30_000)


def store_text(store: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(store.rglob("*.jsonl")))


def forms(value: str) -> set[str]:
    """The forms a leak can take in an export: raw, case-folded, digits only (for numbers),
    JSON-escaped, and JSON-escaped with non-ASCII escaped."""
    out = {value, value.casefold(), json.dumps(value)[1:-1],
           json.dumps(value, ensure_ascii=True)[1:-1]}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 7:
        out.add(digits)
    return {f for f in out if f}


_NUMBER_RUN = re.compile(r"\d(?:[\d\s().+/\-\u00a0]{0,3}\d)*")


def leaks(text: str, planted: Iterable[str]) -> list[str]:
    """Planted values found in ``text``; numbers are matched on digit-only text as well."""
    folded = text.casefold()
    # Digit runs as a reader would see them: digits with the separators numbers are written
    # with, joined (not the whole file's digits glued together, which would match by chance).
    digit_text = "|".join(re.sub(r"\D", "", run) for run in _NUMBER_RUN.findall(text))
    found = []
    for value in planted:
        for form in forms(value):
            haystack = digit_text if form.isdigit() else folded
            if form.casefold() in haystack:
                found.append(f"{value!r} as {form!r}")
                break
    return found


def shutdown() -> None:
    _lifecycle.shutdown(timeout=10)
