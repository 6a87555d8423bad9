"""The per-record scrubbing budget: one CPU-clock read per record when records follow each
other on one thread, never a longer budget than a fresh read would give, never another
thread's clock, and still fail-closed when the CPU time runs out."""

from __future__ import annotations

import threading
import time

import pytest

from infertel.privacy import _budget
from infertel.privacy._budget import ScrubContext, ScrubTimeout


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_record_right_after_a_check_starts_at_that_check() -> None:
    first = ScrubContext(1.0)
    first.check()
    second = ScrubContext(1.0)
    assert second.deadline == _budget._last_check.clock[1] + 1.0
    assert second.deadline <= time.thread_time() + 1.0  # never longer than a fresh read


def test_after_a_gap_the_clock_is_read_again() -> None:
    ScrubContext(0.01).check()
    checked_at = _budget._last_check.clock[1]
    _burn(0.002)  # more than 1% of the budget: wall time has moved past the window
    later = ScrubContext(0.01)
    assert later.deadline - 0.01 >= checked_at + 0.002


def test_another_threads_check_is_not_used() -> None:
    def busy() -> None:
        _burn(0.2)  # this thread's CPU clock runs far ahead of the new thread's
        ScrubContext(1.0).check()

    other = threading.Thread(target=busy)
    other.start()
    other.join(30.0)
    deadlines: list[tuple[float, float]] = []

    def fresh() -> None:
        context = ScrubContext(1.0)
        deadlines.append((context.deadline, time.thread_time() + 1.0))

    # A fresh thread right after: its budget starts at its own clock, not the busy one's.
    newcomer = threading.Thread(target=fresh)
    newcomer.start()
    newcomer.join(30.0)
    [(deadline, bound)] = deadlines
    assert deadline <= bound


def test_the_budget_still_runs_out() -> None:
    for _ in range(3):  # also when each context chains on the previous one's check
        context = ScrubContext(0.001)
        _burn(0.003)
        with pytest.raises(ScrubTimeout):
            context.check()
