"""Endpoint URLs: check them without trusting them, print them without their credentials.

An OTLP endpoint can carry a password (``https://user:pass@host``) or a token in its query
(``?api_key=...``); ``infertel doctor`` prints endpoints and error messages that quote them, so
every text it prints goes through :func:`mask_urls`.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Final

MASK: Final = "***"
# scheme://userinfo@ -> scheme://***@ (user names are often tokens too).
_USERINFO: Final = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<info>[^\s/?#@]*)@")
# user:password@host without a scheme (as a gRPC target may be written).
_BARE_USERINFO: Final = re.compile(
    r"(?<![\w/@:.\-*])[^\s/:@'\"*]+:[^\s/@'\"]+@(?=[\w.\-\[])")


def mask_urls(text: str) -> str:
    """``text`` with the userinfo and the query/fragment parameter values of every URL in it
    replaced by ``***``."""
    text = _USERINFO.sub(lambda m: m.group("scheme") + (
        f"{MASK}:{MASK}@" if ":" in m.group("info") else f"{MASK}@"), text)
    text = _BARE_USERINFO.sub(f"{MASK}:{MASK}@", text)
    return _mask_parameters(text)


def _mask_parameters(text: str) -> str:
    out: list[str] = []
    for word in re.split(r"(\s+)", text):
        if ("?" in word or "#" in word) and "=" in word:
            head, sep, tail = _split_query(word)
            word = head + sep + re.sub(r"([^=&#;]+)=([^&#;]*)",
                                       lambda m: f"{m.group(1)}={MASK}", tail)
        out.append(word)
    return "".join(out)


def _split_query(word: str) -> tuple[str, str, str]:
    positions = [p for p in (word.find("?"), word.find("#")) if p >= 0]
    cut = min(positions)
    return word[:cut], word[cut], word[cut + 1:]


def endpoint_problem(endpoint: str, protocol: str) -> str | None:
    """Why ``endpoint`` cannot be an OTLP endpoint for ``protocol``, or None when it can.

    OTLP/HTTP needs ``http(s)://host[:port][/path]``; gRPC also accepts ``host:port``.
    """
    text = endpoint.strip()
    if not text:
        return "it is empty"
    if any(ch.isspace() for ch in text):
        return "it contains white space"
    candidate = text
    if "://" not in text:
        if protocol != "grpc":
            return "it has no scheme (expected http://host:port or https://host:port)"
        candidate = f"http://{text}"
    try:
        parsed = urllib.parse.urlsplit(candidate)
        port = parsed.port
    except ValueError:
        return "its port is not a number from 1 to 65535"
    if candidate is not text and port is None:
        return "it has no scheme and no port (expected host:port or http(s)://host:port)"
    if parsed.scheme not in ("http", "https"):
        return f"its scheme is {parsed.scheme!r}, not http or https"
    if not parsed.hostname:
        return "it names no host"
    if port == 0:
        return "its port is not a number from 1 to 65535"
    return None
