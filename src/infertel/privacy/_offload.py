"""Payload redaction in a child process, so detection does not compete with serving threads.

CPython threads share one interpreter lock: a background thread redacting a 1 KB text for
~0.2 ms (or ~15 ms with spaCy NER) takes that time from the serving threads. The worker therefore
sends each batch's long payload strings to a child process and uses the answers; short strings
and exit-only strings are still scrubbed in-process. Whenever the child cannot answer, the
batch returns None and the caller scrubs it in-process: slower, never raw.

How the child is kept from hurting the serving process:

* **Work-scaled deadlines.** A batch goes over in chunks (at most ``CHUNK_TEXTS`` texts and
  ``CHUNK_CHARS`` characters each); each chunk must be answered within a deadline computed
  from its characters and texts at a conservative cost per character (learned upwards from
  what the child reports, never below the prior), times a slack factor. The caller's
  per-record budget is not the bound: a slow-but-working child is not killed for a big batch.
* **Stall detection.** While waiting, the child's state is polled: a stopped child (SIGSTOP)
  is seen within ``POLL_S``; a child that misses its deadline is killed (SIGKILL) and reaped.
  Pipes are non-blocking and every message is size-bounded, so no write or read can hang.
* **Backoff.** After a failure the child is restarted lazily, no sooner than 1, 2, 4 ... 60 s
  later; until then batches return None at once (in-process redaction).
* **Clean exit.** Every child is stopped by an exit hook that runs before native libraries
  are torn down (see ``_ner_gate``), and a child exits by itself when its stdin closes, which
  also happens when this process dies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infertel.privacy import _child_protocol as proto
from infertel.privacy import _ner_gate
from infertel.privacy._child_protocol import ChildError
from infertel.privacy._policy import PrivacyPolicy
from infertel.privacy._pseudonym import process_key

__all__ = ["OFFLOAD_MIN_CHARS", "RedactionProcess"]

_log = logging.getLogger("infertel")

# Only strings at least this long are worth a trip to the child: shorter ones cost less to
# scan here than to send.
OFFLOAD_MIN_CHARS = 200
# One round trip carries at most this much, so one deadline covers a bounded amount of work.
CHUNK_TEXTS = 64
CHUNK_CHARS = 64_000
# Deadline = MIN_DEADLINE_S + SLACK * (chars * seconds-per-char + texts * PER_TEXT_S).
MIN_DEADLINE_S = 1.0
SLACK = 4.0
PER_TEXT_S = 2e-4
# Conservative CPU cost per character (this 2-core host: ~0.15 us patterns, ~15 us NER).
PRIOR_S_PER_CHAR = {"patterns": 2e-6, "ner": 4e-5}
# Model loading (spaCy) happens before the child says it is ready.
START_TIMEOUT_S = 60.0
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 60.0
# BLAS / OpenMP pools in the child: one thread, it shares the machine with the serving process.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS",
               "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
_KEY_VARS = ("INFERTEL_HMAC_KEY", "INFERTEL_HMAC_KEY_FILE")
CHILD_MODULE = "infertel.privacy._redaction_child"

_live: weakref.WeakSet[RedactionProcess] = weakref.WeakSet()


class RedactionProcess:
    """A lazily started child that redacts batches of texts.

    ``key`` is the HMAC key the caller resolved from the policy (None: none configured). The
    child gets exactly this key, or this process's random key when there is none, over its
    stdin (never argv, env or disk), so its pseudonyms equal the ones made in-process.
    """

    def __init__(self, policy: PrivacyPolicy, key: bytes | None) -> None:
        # The child rebuilds the scrubber from this policy (same factory as in-process), with
        # no key source of its own and no child of its own.
        self._policy = policy.model_copy(update={
            "hmac_key": None, "hmac_key_file": None, "redaction_process": "off"})
        self._key = key
        self._rate = self._prior = PRIOR_S_PER_CHAR.get(policy.detection, 4e-5)
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._seq = 0
        self._closed = False
        # Health facts (ints, floats and reason words only: nothing from the payloads).
        self._starts = 0
        self._failures = 0
        self._consecutive = 0
        self._last_failure: str | None = None
        self._failed_at = 0.0
        self._retry_at = 0.0
        self._batches = 0
        self._fallbacks = 0
        self._texts = 0
        self._child_cpu_s = 0.0
        _live.add(self)

    # ------------------------------------------------------------------ public interface
    def redact_many(self, texts: list[str], budget_s: float) -> list[tuple[str, list[str]]] | None:
        """Redacted texts and the entity types found in each; None when the child cannot
        answer (the caller then redacts in-process).

        ``budget_s`` (the caller's per-record budget times the batch size) is kept for the
        interface; each chunk's wait is bounded by its own work-scaled deadline instead.
        """
        del budget_s
        if not texts:
            return []
        with self._lock:
            if self._closed:
                return None
            try:
                process = self._ensure_started()
                if process is None:
                    self._fallbacks += 1
                    return None
                results: list[tuple[str, list[str]]] = []
                for chunk in _chunks(texts):
                    answer = self._round_trip(process, chunk)
                    if answer is None:  # the child could not redact this chunk; it is alive
                        self._fallbacks += 1
                        return None
                    results.extend(answer)
            except ChildError as error:
                self._fail(error.reason)
                return None
            except Exception as error:  # never raise into the worker
                self._fail(type(error).__name__)
                return None
            self._batches += 1
            self._consecutive = 0
            return results

    def health(self) -> dict[str, Any]:
        """Facts for ``infertel.health()``: no payload text, only counts, ages and reasons.

        Lock-free (a batch in flight holds the lock): each field is read once.
        """
        process = self._process
        now = time.monotonic()
        alive = process is not None and process.returncode is None and not self._closed
        return {
            "alive": alive,
            "starts": self._starts,
            "restarts": max(0, self._starts - 1),
            "failures": self._failures,
            "last_failure": self._last_failure,
            "last_failure_age_s": round(now - self._failed_at, 3) if self._failures else None,
            "backoff_remaining_s": round(max(0.0, self._retry_at - now), 3),
            "batches": self._batches,
            "texts": self._texts,
            "child_cpu_s": round(self._child_cpu_s, 3),
            "fallback_batches": self._fallbacks,
            "closed": self._closed,
        }

    def close(self, timeout: float = 2.0) -> None:
        """Stop the child: EOF on its stdin, then SIGKILL if it has not exited in time."""
        self._closed = True
        if self._lock.acquire(timeout=max(0.0, min(timeout, 0.5))):
            try:
                process, self._process = self._process, None
                if process is not None:
                    _stop(process, max(0.1, timeout))
            finally:
                self._lock.release()
            return
        # A batch is in flight and holds the lock: kill the child (signals only, no pipe
        # operations under the other thread's feet); that batch then fails and reaps it.
        process = self._process
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()

    # ------------------------------------------------------------------ internals
    def _round_trip(self, process: subprocess.Popen[bytes],
                    chunk: list[str]) -> list[tuple[str, list[str]]] | None:
        assert process.stdin is not None
        assert process.stdout is not None
        chars = sum(len(text) for text in chunk)
        deadline = time.monotonic() + self._deadline_s(chars, len(chunk))
        self._seq += 1
        seq = self._seq

        def watch() -> None:
            _watch(process)

        proto.send(process.stdin.fileno(), proto.encode((seq, chunk)), deadline, watch)
        answer = proto.decode(proto.recv(process.stdout.fileno(), deadline, watch))
        if not (isinstance(answer, tuple) and len(answer) == 3 and answer[0] == seq):
            raise ChildError("protocol")
        _, results, cpu_s = answer
        if isinstance(cpu_s, float) and cpu_s > 0 and chars:
            self._child_cpu_s += cpu_s
            # Learn upwards only: a run of cheap texts (skipped by NER) must not shrink the
            # deadline that the next chunk of free text needs.
            self._rate = max(self._prior, 0.7 * self._rate + 0.3 * cpu_s / chars)
        if results is None:
            return None
        validated = _validated(results, len(chunk))
        self._texts += len(chunk)
        return validated

    def _deadline_s(self, chars: int, count: int) -> float:
        return MIN_DEADLINE_S + SLACK * (chars * self._rate + count * PER_TEXT_S)

    def _ensure_started(self) -> subprocess.Popen[bytes] | None:
        if self._pid != os.getpid():  # forked: the parent's child is not ours to talk to
            self._forget_after_fork()
        process = self._process
        if process is not None:
            if process.poll() is None:
                return process
            self._process = None
            _close_pipes(process)
            raise ChildError("exited")
        if time.monotonic() < self._retry_at:
            return None
        return self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        self._starts += 1
        process = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            # The child's stderr could echo payload text in a traceback: it goes nowhere.
            stderr=subprocess.DEVNULL, close_fds=True, env=_child_env(),
        )
        self._process = process
        assert process.stdin is not None
        assert process.stdout is not None
        os.set_blocking(process.stdin.fileno(), False)
        os.set_blocking(process.stdout.fileno(), False)
        config = {"policy": self._policy,
                  "key": self._key if self._key is not None else process_key()}
        deadline = time.monotonic() + START_TIMEOUT_S

        def watch() -> None:
            _watch(process)

        proto.send(process.stdin.fileno(), pickle.dumps(config, pickle.HIGHEST_PROTOCOL),
                   deadline, watch)
        answer = proto.decode(proto.recv(process.stdout.fileno(), deadline, watch))
        if not (isinstance(answer, tuple) and answer and answer[0] == "ready"):
            raise ChildError("start")
        return process

    def _fail(self, reason: str) -> None:
        self._failures += 1
        self._consecutive += 1
        self._last_failure = reason
        now = time.monotonic()
        self._failed_at = now
        backoff = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (self._consecutive - 1))
        self._retry_at = now + backoff
        process, self._process = self._process, None
        if process is not None:
            _kill(process)
        if not self._closed:
            _log.warning("infertel: redaction child failed (%s); redacting in-process, next "
                         "start in %.0f s", reason, backoff)

    def _forget_after_fork(self) -> None:
        """In a forked process: drop the parent's child without signalling it, and close our
        copies of its pipes (else the child would not see EOF when the parent exits)."""
        process, self._process = self._process, None
        if process is not None:
            _close_pipes(process)
        self._pid = os.getpid()
        self._lock = threading.Lock()


def _watch(process: subprocess.Popen[bytes]) -> None:
    state = proto.process_state(process.pid)
    if state in ("T", "t"):
        raise ChildError("stopped")
    if state in ("Z", "X") or process.poll() is not None:
        raise ChildError("exited")


def _validated(results: Any, expected: int) -> list[tuple[str, list[str]]]:
    if not isinstance(results, list) or len(results) != expected:
        raise ChildError("protocol")
    out: list[tuple[str, list[str]]] = []
    for item in results:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], list) and all(isinstance(e, str) for e in item[1])):
            raise ChildError("protocol")
        out.append((item[0], item[1]))
    return out


def _chunks(texts: list[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    chars = 0
    for text in texts:
        if chunk and (len(chunk) >= CHUNK_TEXTS or chars + len(text) > CHUNK_CHARS):
            yield chunk
            chunk, chars = [], 0
        chunk.append(text)
        chars += len(text)
    if chunk:
        yield chunk


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _KEY_VARS}
    for name in THREAD_VARS:
        env[name] = "1"
    env.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    # The child must import this very infertel (a source checkout, a benchmark's sys.path).
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        if process.stdin is not None:
            process.stdin.close()  # EOF: the child exits after its current chunk
        process.wait(min(timeout, 1.0))
    except (OSError, subprocess.TimeoutExpired):
        _kill(process)
    finally:
        _close_pipes(process)


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        process.kill()
        process.wait(1.0)  # reap: no zombie left behind
    except (OSError, subprocess.TimeoutExpired):
        pass
    finally:
        _close_pipes(process)


def _close_pipes(process: subprocess.Popen[bytes]) -> None:
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _close_all(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for redaction in list(_live):
        redaction.close(max(0.1, deadline - time.monotonic()))


def _after_fork_in_child() -> None:
    for redaction in list(_live):
        with contextlib.suppress(Exception):
            redaction._forget_after_fork()


# Stop every child at exit, before the NER gate closes and before native teardown.
_ner_gate.on_exit(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
