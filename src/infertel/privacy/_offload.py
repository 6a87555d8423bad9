"""Payload redaction in a child process, so detection does not compete with serving threads.

CPython threads share one interpreter lock: a background thread redacting a 1 KB text for
~0.2 ms takes that time from the serving threads. The worker therefore sends each batch's long
payload strings to a child process in one round trip and uses the answers; short strings and
exit-only strings (exception text, user logs) are still scrubbed in-process. Any failure or
timeout returns None and the caller fails closed for that batch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import subprocess
import sys
import threading
import time
from typing import IO, Any

from infertel.privacy._policy import PrivacyPolicy
from infertel.privacy._redaction_child import read_message, write_message

_log = logging.getLogger("infertel")

# Only strings at least this long are worth a trip to the child: shorter ones cost less to
# scan here than to pickle.
OFFLOAD_MIN_CHARS = 200
_START_TIMEOUT_S = 30.0
# After a failure, wait this long before starting a new child (a crash loop must not spin).
_RESTART_BACKOFF_S = 5.0


class RedactionProcess:
    """A lazily started child that redacts batches of texts."""

    def __init__(self, policy: PrivacyPolicy, key: bytes | None) -> None:
        self._config = {
            "entities": policy.entities,
            "detection": policy.detection,
            "recognizers": [r.model_dump() for r in policy.custom_recognizers],
            "pseudonymize_entities": tuple(policy.pseudonymize_entities),
            "key": key,
            "key_id": policy.hmac_key_id,
        }
        self._timeout_s = policy.redaction_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._failed_at = 0.0
        self._pid = os.getpid()

    def redact_many(self, texts: list[str], budget_s: float) -> list[tuple[str, list[str]]] | None:
        """Redacted texts and the entity types found in each; None on failure or timeout."""
        with self._lock:
            try:
                process = self._ensure_started()
                if process is None:
                    return None
                assert process.stdin is not None
                assert process.stdout is not None
                write_message(process.stdin, texts)
                answer = _read_with_deadline(process.stdout, time.monotonic() + budget_s)
                if not isinstance(answer, list) or len(answer) != len(texts):
                    raise RuntimeError("redaction child gave no valid answer in time")
                return answer
            except Exception as error:
                _log.warning("infertel: redaction child failed (%s); payloads fail closed",
                             type(error).__name__)
                self._kill()
                self._failed_at = time.monotonic()
                return None

    def close(self, timeout: float = 2.0) -> None:
        with self._lock:
            process = self._process
            self._process = None
            if process is None:
                return
            try:
                if process.stdin is not None:
                    process.stdin.close()  # the child exits when its input ends
                process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
            finally:
                _close_pipes(process)

    def _ensure_started(self) -> subprocess.Popen[bytes] | None:
        if self._pid != os.getpid():  # forked: the parent's child is not ours to talk to
            self._process, self._pid = None, os.getpid()
        process = self._process
        if process is not None:
            if process.poll() is None:
                return process
            _close_pipes(process)  # it died: release its pipes before starting another
            self._process = None
        if time.monotonic() - self._failed_at < _RESTART_BACKOFF_S:
            return None
        process = subprocess.Popen(
            [sys.executable, "-m", "infertel.privacy._redaction_child"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        self._process = process
        write_message(process.stdin, self._config)
        if _read_with_deadline(process.stdout, time.monotonic() + _START_TIMEOUT_S) != "ready":
            raise RuntimeError("redaction child did not start")
        return process

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            try:
                process.kill()
                process.wait(1.0)
            except (OSError, subprocess.TimeoutExpired):
                pass
            finally:
                _close_pipes(process)


def _close_pipes(process: subprocess.Popen[bytes]) -> None:
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _read_with_deadline(stream: IO[bytes], deadline: float) -> Any:
    """Read one message, waiting no longer than ``deadline`` for the child to start answering."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    ready, _, _ = select.select([stream], [], [], remaining)
    if not ready:
        raise TimeoutError
    # The child writes each answer whole, so once it starts arriving it is read through.
    return read_message(stream)
