"""The policy file for the tools (``scan --policy``, the collector's scrubber): the format lives
in ``infertel.privacy._policy_file``, which ``configure()`` also uses to write it."""

from infertel.privacy._policy_file import (
    SECRET_FIELDS,
    PolicyFileError,
    load_policy,
    policy_document,
    write_policy,
)

__all__ = ["SECRET_FIELDS", "PolicyFileError", "load_policy", "policy_document", "write_policy"]
