"""What a key says about its value, as the runtime's scrubber decides it, for the tools.

The rules live in the privacy package (``infertel.privacy._keys``): the value shapes infertel's
own keys may carry unscanned, and the personal and secret key names. The tools ask through this
module so that ``scan`` and the collector judge by the runtime's rules, and so that, should the
rules be unavailable, they fall back to trusting nothing (every value scanned, no key exempt).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _load() -> tuple[Callable[[str, Any], bool], Callable[[str], str | None], frozenset[str]]:
    try:
        from infertel.privacy import _keys
    except ImportError:
        return (lambda _key, _value: False), (lambda _key: None), frozenset()
    return _keys.fits_shape, _keys.key_entity, frozenset(_keys.SDK_KEYS)


_fits_shape, _key_entity, _sdk_keys = _load()


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
