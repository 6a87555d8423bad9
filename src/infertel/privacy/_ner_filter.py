"""Which strings can hold a person's or a place's name, and how to show lower-case text to a
cased model.

NER is the expensive part of ``detection="ner"`` (~15 ms for 1 KB of text here), and most
telemetry strings cannot hold a name at all: numbers, ids, hashes, snake_case and dotted
identifiers, paths, URLs. Those skip the model. The rule is conservative: a string is sent to
the model when any whitespace-separated word could be part of a name (two or more letters, no
digit, not shaped like an identifier); an all-caps word (``GET``) or a lone capitalised word
counts, since names are written that way too.

``en_core_web_sm`` relies heavily on capitals: in all-lower-case text it finds about a third
of the names it finds in the same text cased. :func:`recase` capitalises the words that are
not English function words (same length, so offsets carry over) for a second pass; the
benchmark (``benchmarks/bench_ner.py``) measures what that adds and what it costs in false
positives.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["key_may_be_name", "may_hold_name", "needs_recase", "recase"]

_PUNCT = "\"'`()[]{}<>,;:!?*«»“”‘’"
# A word that is an identifier rather than prose: snake_case, dotted.names (but not initials
# such as "J.R.R." or "U.S."), camelCase starting lower-case, paths, URLs, e-mails, key=value.
_IDENTIFIER = re.compile(
    r"_|[/\\@=#$%&|^~+]|://"            # snake_case, paths, addresses, assignments
    r"|^[a-z]+[A-Z]"                     # camelCase: userId, getName
    r"|[a-z]{2,}\.[A-Za-z]"              # dotted.names, file.ext, host.domain
)
_INITIALS = re.compile(r"^(?:[A-Za-z]{1,2}\.)+[A-Za-z]?$")
_HEX = re.compile(r"^[0-9a-fA-F]{12,}$")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_CAP = 4096


def may_hold_name(text: str) -> bool:
    """False only when no word of ``text`` could be part of a person's or place's name."""
    if len(text) < 2:
        return False
    if len(text) > 64:
        # Long text: a quick test that some run of two letters exists, then the per-word rule
        # only if the text has no space (a long identifier, a base64 blob, a path).
        if " " in text or "\n" in text or "\t" in text:
            return _has_letter_pair(text)
        return _word_may_be_name(text.strip(_PUNCT + "."))
    return _may_hold_name_short(text)


@lru_cache(maxsize=_CAP)
def _may_hold_name_short(text: str) -> bool:
    return any(_word_may_be_name(word.strip(_PUNCT + ".")) for word in text.split())


def _has_letter_pair(text: str) -> bool:
    return any(_word_may_be_name(word.strip(_PUNCT + ".")) for word in text.split())


def _word_may_be_name(word: str) -> bool:
    if len(word) < 2 or any(ch.isdigit() for ch in word):
        return False
    if _INITIALS.match(word):
        return sum(ch.isalpha() for ch in word) >= 2
    if _IDENTIFIER.search(word) or _HEX.match(word):
        return False
    letters = sum(ch.isalpha() for ch in word)
    return letters >= 2 and letters >= len(word) - 2


def key_may_be_name(key: str) -> bool:
    """A map key that reads as prose (``"Maria Gonzalez"``, ``"berlin office"``) rather than
    as an identifier (``user_id``, ``ml.input.text``, ``customerName``, ``x-request-id``)."""
    stripped = key.strip()
    if not stripped or not may_hold_name(stripped):
        return False
    words = stripped.split()
    if len(words) == 1:
        word = words[0]
        # One word: only a capitalised one (Maria, Berlin); a lower-case single word is an
        # identifier far more often than a name.
        return word[:1].isupper() and word[1:].islower() and word.isalpha()
    return all(_word_may_be_name(w.strip(_PUNCT + ".")) or len(w) <= 3 for w in words)


def needs_recase(text: str) -> bool:
    """All-lower-case prose: letters but no capital (the model misses most names there).

    Prose means two words at least: a single lower-case token such as a model name
    (``tumor-classifier``) re-cased reads to the model like a place or a person."""
    return text.islower() and len(text.split()) >= 2 and _has_letter_pair(text)


def recase(text: str) -> str:
    """``text`` with each word that is not an English function word capitalised, and the
    first letter of the text; same length as ``text``, so entity offsets carry over."""
    stop = _stop_words()
    chars = list(text)
    for match in _WORD.finditer(text):
        word = match.group()
        if len(word) >= 2 and word not in stop:
            chars[match.start()] = chars[match.start()].upper()
    for i, ch in enumerate(chars):
        if ch.isalpha():
            chars[i] = ch.upper()
            break
    out = "".join(chars)
    # Upper-casing can change the length (German "ß" stays, but e.g. "ŉ" expands): keep the
    # original text then, offsets must stay valid.
    return out if len(out) == len(text) else text


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    try:
        from spacy.lang.en.stop_words import STOP_WORDS
    except ImportError:  # NER needs spaCy anyway; this keeps the filter importable alone
        return frozenset()
    return frozenset(STOP_WORDS)
