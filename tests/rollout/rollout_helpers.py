"""Synthetic calls for the rollout tests (seeded; no real service needed for the statistics)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from infertel.rollout import Observation

START_NS = 1_700_000_000_000_000_000


def traffic(n: int, *, seed: int = 1, canary_share: float = 0.5,
            segments: tuple[str, ...] = ("free", "pro"),
            error_rate: float = 0.01, canary_error_rate: float | None = None,
            canary_other_error_rate: float | None = None,
            latency_scale: float = 1.0, bad_segment: str | None = None,
            prediction_shift: float = 0.0, step_ns: int = 1_000_000,
            start_ns: int = START_NS) -> Iterator[Observation]:
    """``n`` calls one ``step_ns`` apart; the canary's regression applies to ``bad_segment``
    (or every segment when it is None); ``canary_other_error_rate`` is the canary's error rate
    in the other segments (an improvement there can hide a regression in the average)."""
    rng = random.Random(seed)
    for i in range(n):
        ring = "canary" if rng.random() < canary_share else "stable"
        segment = segments[i % len(segments)]
        bad = ring == "canary" and (bad_segment is None or segment == bad_segment)
        rate = canary_error_rate if (bad and canary_error_rate is not None) else error_rate
        if ring == "canary" and not bad and canary_other_error_rate is not None:
            rate = canary_other_error_rate
        error = rng.random() < rate
        duration = rng.lognormvariate(-4.0, 0.4) * (latency_scale if bad else 1.0)
        prediction = rng.gauss(0.5 + (prediction_shift * 0.1 if bad else 0.0), 0.1)
        yield Observation(ring=ring, segment=segment, error=error, duration_s=duration,
                          end_ns=start_ns + i * step_ns, prediction=prediction,
                          inference_id=f"{i:016x}")
