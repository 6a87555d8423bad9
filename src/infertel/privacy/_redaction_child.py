"""The redaction child process: detection off the serving process's GIL.

Started by :class:`infertel.privacy._offload.RedactionProcess` as
``python -m infertel.privacy._redaction_child``. Speaks length-prefixed pickles over its
stdin/stdout: first a configuration message, then batches of texts, each answered with the
redacted texts and the entity types found in each. Exits when its stdin closes.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import IO, Any

_HEADER = struct.Struct("!I")


def read_message(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return pickle.loads(payload)


def write_message(stream: IO[bytes], message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def main() -> int:
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    incoming, outgoing = sys.stdin.buffer, sys.stdout.buffer
    config = read_message(incoming)
    if config is None:
        return 1
    from infertel.privacy._detector import PiiDetector
    from infertel.privacy._pseudonym import Pseudonymizer

    pseudonymizer = Pseudonymizer(config["key"], config["key_id"]) if config["key"] else None
    pseudonymized = frozenset(config["pseudonymize_entities"])

    def replacement(entity_type: str, value: str) -> str:
        if pseudonymizer is not None and entity_type in pseudonymized:
            return pseudonymizer.token(entity_type, value)
        return f"<{entity_type}>"

    detector = PiiDetector(
        config["entities"],
        detection=config["detection"],
        extra_recognizers=config["recognizers"],
        pseudonymize=replacement,
        cache_size=0,
    )
    write_message(outgoing, "ready")
    while (batch := read_message(incoming)) is not None:
        results = []
        for text in batch:
            findings = detector.analyze(text)
            redacted = detector.redact_findings(text, findings)
            results.append((redacted, [f.entity_type for f in findings]))
        write_message(outgoing, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
