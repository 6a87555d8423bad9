"""A service's privacy policy as a file, so the tools judge by the service's rules.

``configure()`` writes it when ``INFERTEL_POLICY_FILE`` is set (the collector started by
``infertel collector start`` reads the same variable, so both privacy layers apply one policy).

``infertel scan --policy FILE`` and the collector's scrubber (``infertel collector start
--policy FILE``) read the policy the service runs with instead of the defaults. The file is JSON:
``PrivacyPolicy.model_dump(mode="json")`` without its secrets (the HMAC key never goes into a
file; ``hmac_key_file`` is a path and stays). A ``{"privacy": {...}}`` wrapper is accepted too,
so a configuration file that nests the policy works unchanged.

Errors name the file and the offending fields, never their values: a policy file can hold
custom recognizer patterns written around real identifiers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from infertel.privacy._policy import PrivacyPolicy

# Fields that are secrets: dropped when writing, ignored when reading.
SECRET_FIELDS: Final = frozenset({"hmac_key"})


class PolicyFileError(Exception):
    """The policy file cannot be used; ``str(error)`` is fit to show a user as is."""


def policy_document(policy: PrivacyPolicy) -> dict[str, Any]:
    """The JSON document for ``policy``, secrets left out."""
    data = policy.model_dump(mode="json")
    for name in SECRET_FIELDS:
        data.pop(name, None)
    return data


def write_policy(policy: PrivacyPolicy, path: str | os.PathLike[str]) -> Path:
    """Write ``policy`` (without secrets) to ``path`` as JSON; returns the path."""
    target = Path(path)
    target.write_text(json.dumps(policy_document(policy), indent=2, sort_keys=True) + "\n",
                      encoding="utf-8")
    return target


def load_policy(path: str | os.PathLike[str]) -> PrivacyPolicy:
    """The policy in ``path``; raises :class:`PolicyFileError` with a message for humans."""
    from pydantic import ValidationError

    from infertel.privacy._policy import PrivacyPolicy

    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyFileError(f"cannot read the policy file {source} "
                              f"({type(error).__name__})") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise PolicyFileError(f"the policy file {source} is not JSON") from None
    if isinstance(data, dict) and isinstance(data.get("privacy"), dict):
        data = data["privacy"]
    if not isinstance(data, dict):
        raise PolicyFileError(f"the policy file {source} must hold a JSON object")
    for name in SECRET_FIELDS:
        data.pop(name, None)
    try:
        return PrivacyPolicy.model_validate(data)
    except ValidationError as error:
        # Field names and error kinds only: pydantic's message would quote the input.
        problems = sorted({".".join(map(str, e["loc"])) + f" ({e['type']})"
                           for e in error.errors()})
        raise PolicyFileError(f"the policy file {source} is not a valid privacy policy: "
                              + ", ".join(problems)) from None
