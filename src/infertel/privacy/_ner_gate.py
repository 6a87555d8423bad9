"""A gate in front of in-process spaCy work, closed before the interpreter exits.

At interpreter exit the C runtime tears native libraries down (BLIS registers its own
finaliser) while daemon threads may still be inside them: a worker thread running spaCy then
dies with ``libblis: Aborting.`` (SIGABRT) or a segfault. Every in-process NER call passes this
gate; the exit hook closes it, waits (bounded) for the calls in flight to return, and from then
on NER calls raise :class:`NerUnavailable`, which the scrubber turns into a fail-closed marker.

Two hooks, because ``atexit`` runs hooks last-in, first-out:

* ``_at_exit``, registered when this module is first imported (``_offload`` imports it before
  the pipeline registers its shutdown hook), stops the redaction children after the pipeline's
  shutdown has drained through them, then closes the gate;
* ``_close_before_teardown``, (re-)registered by :func:`arm` each time spaCy is loaded in this
  process. Cython modules (spaCy, thinc) register their own module clean-up with ``atexit``
  when they are imported, and a thread still inside the model after that clean-up crashes
  (seen: SIGSEGV in thinc's maxout, ``libblis: Aborting``). Registered after them, this hook
  runs before them: in-process NER stops first, and the final drain fails closed for the few
  short strings that would need it (long strings still go to the child).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from collections.abc import Callable

__all__ = ["NerUnavailable", "arm", "close", "closed", "enter", "leave", "on_exit", "reopen"]

# How long the exit hook waits for in-process NER calls already running (each is one text or a
# small sub-batch: tens of milliseconds).
EXIT_WAIT_S = 5.0


class NerUnavailable(RuntimeError):
    """In-process NER is closed (the interpreter is exiting)."""


class _Gate:
    __slots__ = ("active", "cond", "is_closed")

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.active = 0
        self.is_closed = False


_gate = _Gate()
_exit_callbacks: list[Callable[[float], object]] = []


def enter() -> None:
    """Start one in-process NER call; raises :class:`NerUnavailable` once closed."""
    gate = _gate
    with gate.cond:
        if gate.is_closed:
            raise NerUnavailable("in-process NER is closed: the interpreter is exiting")
        gate.active += 1


def leave() -> None:
    gate = _gate
    with gate.cond:
        gate.active -= 1
        if gate.active <= 0:
            gate.active = 0
            gate.cond.notify_all()


def closed() -> bool:
    return _gate.is_closed


def close(timeout: float = EXIT_WAIT_S) -> bool:
    """Refuse new calls and wait up to ``timeout`` for the running ones; True if none is left."""
    gate = _gate
    deadline = time.monotonic() + timeout
    with gate.cond:
        gate.is_closed = True
        while gate.active:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            gate.cond.wait(remaining)
    return True


def reopen() -> None:
    """Open the gate again (tests; a forked child starts with a fresh gate)."""
    global _gate
    _gate = _Gate()


def on_exit(callback: Callable[[float], object]) -> None:
    """Run ``callback(timeout)`` at exit, before the gate closes (redaction children)."""
    _exit_callbacks.append(callback)


def arm() -> None:
    """Make the gate close before the clean-up of every native module imported so far (call
    after loading spaCy and running it once)."""
    atexit.unregister(_close_before_teardown)
    atexit.register(_close_before_teardown)


def _close_before_teardown() -> None:
    close(EXIT_WAIT_S)


def _at_exit() -> None:
    deadline = time.monotonic() + EXIT_WAIT_S
    for callback in list(_exit_callbacks):
        with contextlib.suppress(Exception):  # an exit hook must not raise
            callback(max(0.0, deadline - time.monotonic()))
    close(max(0.1, deadline - time.monotonic()))


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    # The parent's gate state (a lock possibly held, a count of calls in other threads) means
    # nothing in a forked child.
    os.register_at_fork(after_in_child=reopen)
