"""Keyed pseudonyms: HMAC-SHA256 under a named key, so one person correlates across traces
without being identifiable by anyone who lacks the key. Unkeyed hashes are not offered: a plain
hash of an email or phone number is reversed by enumerating candidates."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import unicodedata

_log = logging.getLogger("infertel")

# 12 hex digits (48 bits): collisions stay negligible across millions of distinct people while
# the token stays short enough to read in a trace view.
_DIGEST_CHARS = 12
_DIGITS_ONLY = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE"})
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")

# --- process key (redaction child consistency) --------------------------------------------
# With no key configured, one random key per process (not per Pseudonymizer): the redaction
# child is handed this key over its stdin, so a value pseudonymised there and here gets the
# same token. It is never written to disk or logged.
_process_key: bytes | None = None
_process_key_lock = threading.Lock()


def process_key() -> bytes:
    """This process's random pseudonym key (made on first use)."""
    global _process_key
    with _process_key_lock:
        if _process_key is None:
            _process_key = secrets.token_bytes(32)
        return _process_key


def adopt_process_key(key: bytes) -> None:
    """Use ``key`` as this process's key (the redaction child takes its parent's)."""
    global _process_key
    with _process_key_lock:
        _process_key = bytes(key)
# --- end process key ----------------------------------------------------------------------


class Pseudonymizer:
    """Produces ``<ENTITY:key_id:digest>`` tokens; the same input always gives the same token."""

    __slots__ = ("_key", "ephemeral", "key_id")

    def __init__(self, key: bytes | None, key_id: str) -> None:
        if key is None:
            # No key configured: pseudonyms still hide the value but only correlate within
            # this process. Better than failing open, and the warning says how to fix it.
            key = process_key()
            self.ephemeral = True
            _log.warning(
                "infertel: no HMAC key configured (PrivacyPolicy.hmac_key, INFERTEL_HMAC_KEY or "
                "hmac_key_file); using a random per-process key, so pseudonyms will not "
                "correlate across processes or restarts"
            )
        else:
            self.ephemeral = False
        if len(key) < 16:
            raise ValueError("the HMAC key must be at least 16 bytes")
        self._key = key
        self.key_id = key_id

    def token(self, entity_type: str, value: str) -> str:
        digest = hmac.new(self._key, _normalise(entity_type, value).encode(), hashlib.sha256)
        return f"<{entity_type}:{self.key_id}:{digest.hexdigest()[:_DIGEST_CHARS]}>"


def _normalise(entity_type: str, value: str) -> str:
    """One person, one token: ``Jane.Doe@Example.com `` and ``jane.doe@example.com`` match,
    as do ``+44 20 7946 0958`` and ``+442079460958``."""
    text = unicodedata.normalize("NFKC", value).strip()
    digits_only = entity_type in _DIGITS_ONLY
    text = _NON_ALNUM.sub("", text).upper() if digits_only else text.casefold()
    return f"{entity_type}\0{text}"
