"""What a key says about its value, as the runtime's scrubber decides it, for the tools.

The rules live in the privacy package (``infertel.privacy._keys``): the value shapes infertel's
own keys may carry unscanned, and the personal and secret key names. The tools ask through this
module so that ``scan`` and the collector judge by the runtime's rules, and so that, should the
rules be unavailable, they fall back to trusting nothing (every value scanned, no key exempt).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

_Rules = tuple[Callable[[str, Any], bool], Callable[[str], str | None], frozenset[str],
               Callable[[Any], bool]]


def _long_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        return False
    return abs(int(value)) >= 1_000_000


def _load() -> _Rules:
    try:
        from infertel.privacy import _keys
    except ImportError:
        return (lambda _key, _value: False), (lambda _key: None), frozenset(), _long_number
    return _keys.fits_shape, _keys.key_entity, frozenset(_keys.SDK_KEYS), _keys.is_digit_run


_fits_shape, _key_entity, _sdk_keys, _is_digit_run = _load()


def fits_shape(key: str, value: Any) -> bool:
    """True when ``key`` is one of infertel's own keys and ``value`` has its declared shape:
    only then may the value go unscanned."""
    return _fits_shape(key, value)


def key_entity(key: str) -> str | None:
    """``"SECRET"`` or a personal entity type when ``key``'s name says what its value is
    (``password``, ``email``, ``first_name``...); None for infertel's own keys and others."""
    if key in _sdk_keys:
        return None
    return _key_entity(key)


def is_digit_run(value: int | float) -> bool:
    """True for a number long enough to be a phone, card, SSN or account number: its digits
    are scanned, as the runtime scans them."""
    return _is_digit_run(value)
