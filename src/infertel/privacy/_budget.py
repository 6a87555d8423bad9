"""A record's scrubbing budget (CPU time of the scrubbing thread) and its redaction tally."""

from __future__ import annotations

import threading
import time


class ScrubTimeout(Exception):
    """A record's scrubbing budget ran out."""


# Per thread: (perf_counter, thread_time) read by the latest budget check.
_last_check = threading.local()
# A context created within this fraction of its budget (wall time) after the thread's last
# check starts its budget at that check's CPU reading instead of reading the CPU clock again.
_CHAIN_FRACTION = 0.01


class ScrubContext:
    """Budget and tally for one record.

    The budget is CPU time of the scrubbing thread, not wall time: it exists to stop
    pathological inputs, and a thread that is merely descheduled on a busy machine must not
    make records fail closed.

    Reading the thread's CPU clock is a system call (~0.7 us). The worker scrubs a batch's
    records one after another, so a record's budget starts at the previous record's final
    check when that check was on this thread less than 1% of the budget ago (wall time, a
    vDSO read; a thread's CPU time cannot advance faster than wall time): one CPU clock read
    per record instead of two. The budget is never longer than before, at most 1% shorter.
    """

    __slots__ = ("deadline", "redactions")

    def __init__(self, budget_s: float) -> None:
        last = getattr(_last_check, "clock", None)
        if last is not None and time.perf_counter() - last[0] <= budget_s * _CHAIN_FRACTION:
            self.deadline = last[1] + budget_s
        else:
            self.deadline = time.thread_time() + budget_s
        self.redactions = 0

    def check(self) -> None:
        now = time.thread_time()
        _last_check.clock = (time.perf_counter(), now)
        if now > self.deadline:
            raise ScrubTimeout
