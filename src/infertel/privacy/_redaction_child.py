"""The redaction child process: detection off the serving process's interpreter lock.

Started by :class:`infertel.privacy._offload.RedactionProcess` as
``python -m infertel.privacy._redaction_child``. Protocol (``_child_protocol`` framing): first
a pickled configuration ``{"policy", "key"}``, answered ``("ready", warm_up_s)`` once the
detector (and the spaCy model, in NER mode) is loaded; then ``(seq, texts)`` batches, each
answered ``(seq, [(redacted, entity_types), ...], cpu_s)`` (``None`` instead of the list when
this batch could not be redacted). Exits when its stdin closes, which is also what happens when
the parent dies.

The detector is built by the same factory as in the parent (``Scrubber(policy).detector``), and
the pseudonym key is the parent's (adopted, as this process's key), so a text redacted here
gets exactly the answer it would get in-process. NER runs over each batch with ``nlp.pipe``.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from typing import Any

# One BLAS / OpenMP thread: set before numpy, blis or spaCy can be imported (they read these
# once, when loaded). The parent sets them in our environment too.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS",
              "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_name] = "1"
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from infertel.privacy._child_protocol import (  # noqa: E402 - after the thread settings
    child_read,
    child_write,
    decode,
    encode,
)

_WARM_UP = "Warm up: Jane Doe wrote from Paris, +44 20 7946 0958, jane.doe@example.com."


class ChildRedactor:
    """The detector the parent's scrubber would build, under the parent's key."""

    def __init__(self, config: dict[str, Any]) -> None:
        from infertel.privacy._pseudonym import adopt_process_key
        from infertel.privacy._scrubber import Scrubber

        # The parent resolved the key (or made its process key): use exactly that one, and
        # leave no other key source that could disagree with it.
        for name in ("INFERTEL_HMAC_KEY", "INFERTEL_HMAC_KEY_FILE"):
            os.environ.pop(name, None)
        adopt_process_key(config["key"])
        self.detector = Scrubber(config["policy"]).detector

    def warm_up(self) -> None:
        self.redact([_WARM_UP])

    def redact(self, texts: list[str]) -> list[tuple[str, list[str]]]:
        detector = self.detector
        return [
            (detector.redact_findings(text, findings), [f.entity_type for f in findings])
            for text, findings in zip(texts, detector.analyze_batch(texts), strict=True)
        ]


def serve(incoming: Any, out_fd: int) -> int:
    raw = child_read(incoming)
    if raw is None:
        return 1
    started = time.monotonic()
    try:
        redactor = ChildRedactor(pickle.loads(raw))
        redactor.warm_up()
    except Exception as error:  # reported by type name only
        child_write(out_fd, encode(("error", type(error).__name__)))
        return 1
    child_write(out_fd, encode(("ready", time.monotonic() - started)))
    while (raw := child_read(incoming)) is not None:
        seq, texts = decode(raw)
        cpu = time.process_time()
        try:
            results: list[tuple[str, list[str]]] | None = redactor.redact(texts)
        except Exception:  # the parent redacts it instead
            results = None
        child_write(out_fd, encode((seq, results, time.process_time() - cpu)))
    return 0


def main() -> int:
    # Ctrl-C in a terminal signals the whole process group: the parent decides when we stop
    # (it closes our stdin), so an interrupt must not kill us mid-answer.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out_fd = os.dup(sys.stdout.fileno())
    # stdout is the answer channel: anything a library prints goes to stderr (discarded).
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        return serve(sys.stdin.buffer, out_fd)
    except BrokenPipeError:  # the parent went away while we answered
        return 0


if __name__ == "__main__":
    sys.exit(main())
