"""STREET_ADDRESS: a house number next to a street word, in several languages.

Street words are rare, digits are not: a cheap pass finds where a street word can be (one
regex over capitalised street words, which ``re`` skips to in C, and substring tests for
the lower-case ones), and only windows around those places are scanned by the regexes
that find the addresses:

* number first, English and French ("221B Baker Street", "12 rue de la Paix");
* number last, German and Dutch, name and street word glued or not ("Hauptstraße 5",
  "Hauptstr. 5", "Berliner Straße 5", "Kerkstraat 12"): found on the *reversed* window,
  where the number comes first again, then checked by the readable forward regex;
* street word first, Spanish and Italian ("Calle Mayor 3", "Via Roma 10").

Street names must be capitalised except after an unambiguous street word (rue, calle), and
ambiguous words (Via, Plaza, Drive) keep their capital, so "sent via Slack 2 times" or "a
2 lane road" are not addresses.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from infertel.privacy import _patterns as P
from infertel.privacy._detect_common import Cand

# Street words written after the name, glued ("Hauptstraße") or as a word ("Berliner Straße").
_SUFFIXES = (
    # German
    "straße", "strasse", "str.", "gasse", "weg", "allee", "platz", "damm", "ufer",
    "chaussee", "steig", "pfad", "markt",
    # Dutch
    "straat", "laan", "plein", "gracht", "kade", "singel", "dijk", "steeg", "dreef",
)  # fmt: skip
#: Capitalised street words, case-sensitive (the cheap pass); the boundary after them is
#: checked by the regex, the one before in Python.
_CAPITALISED = (
    # English
    "Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Ln", "Boulevard", "Blvd",
    "Dr", "Terrace", "Parkway", "Pkwy", "Highway", "Hwy", "Ct", "Pl", "Sq",
    "Crescent",
    # French
    "Rue", "Bd", "Allée", "Impasse", "Quai", "Chemin", "Place", "Route", "Cours",
    # German, Dutch (written as a separate word)
    "Straße", "Strasse", "Str", "Weg", "Allee", "Platz", "Gasse", "Damm", "Markt",
    "Straat", "Laan", "Plein", "Gracht", "Kade", "Singel", "Dijk",
    # Spanish, Italian
    "Calle", "Avenida", "Avda", "Av", "Paseo", "C/", "Carretera", "Glorieta", "Travesía",
    "Plaza", "Pza", "Camino", "Carrera", "Ronda", "Rambla", "Via", "Viale", "Piazza",
    "Piazzale", "Vicolo", "Lungomare", "Contrada", "Corso", "Largo", "Strada", "Borgo",
    "Lungotevere",
)  # fmt: skip
#: Lower-case forms, found with substring tests (each costs a pass over the text, so only
#: the common ones): full English and French street words, German and Dutch suffixes glued
#: to the name, Spanish "calle".
_LOWER_HINTS = (
    "street", "road", "avenue", "boulevard", " rue ", "calle ", "straße", "strasse", "str.",
    "straat",
    "weg ", "platz", "gasse", "laan", "gracht", "plein",
)  # fmt: skip
#: Characters scanned on each side of a street word.
_WINDOW = 90
#: Keywords that are also common words: their address is rejected when a lower-case word
#: follows the number ("Via Slack 2 times").
_AMBIGUOUS = ("Via ", "Plaza ", "Camino ", "Corso ", "Largo ", "Strada ", "Borgo ")

_NAME = r"[A-ZÀ-ÝÄÖÜ][\w'’.\-]*"
_HOUSE = r"[0-9](?<![^\W_][0-9])(?<![.,:/\-+#$€£%][0-9])[0-9]{0,4}(?![0-9])"
_LETTER = r"(?:[A-Za-z](?![\w]))?"
_FR_ARTICLES = r"(?:(?:de|du|des|la|le|les)[ \t]+|[ldLD]['’][ \t]*)"
_EN_STREET = (
    r"(?i:street|avenue|road|lane|boulevard|terrace|parkway|highway|crescent)"
    r"|(?:St|Ave|Rd|Ln|Blvd|Dr|Ter|Pkwy|Hwy|Ct|Pl|Sq|Cres)\b"
)
_EN_STOP = (
    r"(?!(?:the|a|an|of|and|or|to|in|on|at|for|by|with|from|per|more|lane|two|one|way|side"
    r"|dirt|toll|back|long|ring|new|old|open|closed|main road)\b)"
)

#: Number first: English and French.
NUMBER_FIRST = (
    _HOUSE
    + _LETTER
    # Fail fast: most numbers are not followed by a word (or "bis"/"ter" and a word).
    + r"(?=(?:[ \t]?(?:bis|ter))?,?[ \t]+[0-9]{0,3}[^\W\d_])"
    + r"(?:"
    # English, capitalised: 221B Baker Street, 1600 Amphitheatre Parkway, 350 5th Ave.
    + r"[ \t]+(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?[ \t]+)?"
    + r"(?:(?:[0-9]{1,3}(?:st|nd|rd|th)|[A-Z][A-Za-z'’\-]*\.?)[ \t]+){1,3}"
    + r"(?:"
    + _EN_STREET
    + r")(?![\w])\.?"
    # French: 12 rue de la Paix, 5 bis avenue des Champs-Élysées, 3 place de l'Étoile
    + r"|(?:[ \t]?(?:bis|ter))?,?[ \t]+(?:"
    + r"(?i:rue|avenue|av\.|boulevard|bd|allée|allee|impasse|quai|chemin)[ \t]+"
    + _FR_ARTICLES
    + r"*"
    + r"|(?i:place|route|cours|square)[ \t]+"
    + _FR_ARTICLES
    + r"+"
    + r")[^\W\d_][\w'’\-]*(?:[ \t]+"
    + _FR_ARTICLES
    + r"*"
    + _NAME
    + r"){0,3}"
    # English, lower case, full street words only: 12 baker street
    + r"|[ \t]+(?:"
    + _EN_STOP
    + r"[a-z][a-z'\-]+[ \t]+){1,2}(?:street|avenue|road|boulevard)"
    + r"(?![\w])"
    + r")"
)


def _reverse_alternatives(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w[::-1]) for w in sorted(words, key=len, reverse=True))


#: German / Dutch number last, matched on the reversed text: the number, then the street
#: word right before it ("5 eßartstpuaH").
SUFFIX_GATE = (
    r"[0-9](?<![0-9][0-9])[0-9]{0,3}(?![0-9])"
    r"[ \t]*(?i:" + _reverse_alternatives(_SUFFIXES) + r")"
)

_DE_NL_SUFFIX = "|".join(re.escape(s) for s in _SUFFIXES)
_DE_NL_WORD = "|".join(re.escape(s[0].upper() + s[1:]) for s in _SUFFIXES)
#: German / Dutch, forward (checked at each gate hit, ending at the number): Hauptstraße
#: 5, Karl-Marx-Straße 5, Berliner Straße 5, Hauptstr. 5, Kerkstraat 12, Van Baerlestraat 12.
SUFFIX_FORM = (
    r"(?:(?:[A-ZÄÖÜ][\w.]*|van|de|der|den|het|von|am|an|auf|zum|zur)[ \t]+){0,2}"
    r"(?<![\w\-])[A-ZÄÖÜ][a-zäöüß]*(?:-[A-ZÄÖÜ][a-zäöüß]*)*"
    r"(?:(?:" + _DE_NL_SUFFIX + r")|[ \t-](?:" + _DE_NL_WORD + r"))"
    r"[ \t]*[0-9]{1,4}\Z"
)
_ES_ARTICLES = r"(?:(?:de|del|la|las|los|el|y)[ \t]+)"
_IT_ARTICLES = r"(?:(?:del|della|dei|degli|delle|dello|di|san|santa|s\.)[ \t]+|d['’])"
_NUMBER_END = r"[0-9]{1,4}(?![0-9])"
#: Spanish and Italian: the street word first, capitalised (it is the regex's anchor).
KEYWORD_FORM = (
    # Spanish: Calle Mayor 3, Calle de Alcalá, 45, C/ Mayor nº 3, Avda. de América 12
    r"(?<![\w])(?:Calle|Avenida|Avda\.?|Av\.|Paseo|C/|Carretera|Glorieta|Traves[ií]a|Plaza"
    r"|Pza\.|Camino|Carrera|Ronda|Rambla)[ \t]*"
    + _ES_ARTICLES
    + r"*[\w'’.\-]+(?:[ \t]+"
    + _ES_ARTICLES
    + r"*[\w'’.\-]+){0,3},?[ \t]*"
    r"(?:n[º°.o]{0,3}[ \t]*)?"
    + _NUMBER_END
    # Italian: Via Roma 10, Piazza della Signoria 1, Corso Vittorio Emanuele II, 22
    + r"|(?<![\w])(?:Via|Viale|Piazza|Piazzale|Vicolo|Lungomare|Contrada|Corso|Largo|Strada"
    r"|Borgo|Lungotevere)[ \t]+"
    + _IT_ARTICLES
    + r"*"
    + _NAME
    + r"(?:[ \t]+"
    + _IT_ARTICLES
    + r"*"
    + _NAME
    + r"){0,3}"
    r",?[ \t]*(?:n\.?[ \t]*)?" + _NUMBER_END
)
#: Lower-case "calle mayor 3" (only when the text holds "calle": a substring test).
CALLE_LOWER = (
    r"(?<![\w])calle[ \t]+"
    + _ES_ARTICLES
    + r"*[\w'’.\-]+(?:[ \t]+"
    + _ES_ARTICLES
    + r"*[\w'’.\-]+){0,3},?[ \t]*(?:n[º°.o]{0,3}[ \t]*)?"
    + _NUMBER_END
)


def _trie(words: tuple[str, ...]) -> str:
    """A regex matching any of ``words``, factored by common prefix ("S(?:t(?:reet|r...)").

    ``re`` tries alternatives one by one; factored, a position that cannot start a word is
    rejected after one comparison instead of one per word.
    """
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _trie_node(tree)


def _trie_node(node: dict[str, Any]) -> str:
    ends = "" in node
    branches = [re.escape(ch) + _trie_node(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        return "(?:" + body + ")?"
    return body


class _AddressRegexes:
    def __init__(self) -> None:
        self.capitalised = re.compile(_trie(_CAPITALISED) + r"(?![a-zäöüßàâçéèêëîïôûùáíóúñ])")
        self.first = re.compile(NUMBER_FIRST)
        self.gate = re.compile(SUFFIX_GATE)
        self.suffix = re.compile(SUFFIX_FORM)
        self.keyword = re.compile(KEYWORD_FORM)
        self.calle = re.compile(CALLE_LOWER)


@lru_cache(maxsize=1)
def _regexes() -> _AddressRegexes:
    return _AddressRegexes()


def address_candidates(text: str, out: list[Cand]) -> None:
    """Append STREET_ADDRESS candidates in ``text`` (which holds at least one digit)."""
    rx = _regexes()
    windows: list[tuple[int, int]] = []
    for m in rx.capitalised.finditer(text):
        start = m.start()
        if start == 0 or not text[start - 1].isalnum():
            _add_window(windows, start, m.end())
    for hint in _LOWER_HINTS:
        pos = text.find(hint)
        while pos >= 0:
            _add_window(windows, pos, pos + len(hint))
            pos = text.find(hint, pos + len(hint))
    if not windows:
        return
    windows.sort()
    merged = [windows[0]]
    for lo, hi in windows[1:]:
        if lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    for lo, hi in merged:
        _scan_window(rx, text, max(0, lo - _WINDOW), min(len(text), hi + _WINDOW), out)


def _add_window(windows: list[tuple[int, int]], start: int, end: int) -> None:
    if windows and start <= windows[-1][1] + _WINDOW:
        last = windows[-1]
        windows[-1] = (min(last[0], start), max(last[1], end))
    else:
        windows.append((start, end))


def _scan_window(rx: _AddressRegexes, text: str, lo: int, hi: int, out: list[Cand]) -> None:
    score = P.SCORES[P.STREET_ADDRESS]
    kind = P.STREET_ADDRESS
    window = text[lo:hi]
    for m in rx.first.finditer(window):
        out.append((kind, lo + m.start(), lo + m.end(), score))
    n = len(window)
    for gate in rx.gate.finditer(window[::-1]):
        end = n - gate.start()  # forward end of the house number
        named = rx.suffix.search(window, max(0, end - 80), end)
        if named is not None:
            out.append((kind, lo + named.start(), _letter_suffix(text, lo + end), score))
    for m in rx.keyword.finditer(window):
        start, end = lo + m.start(), lo + m.end()
        if text.startswith(_AMBIGUOUS, start) and _lower_word_follows(text, end):
            continue
        out.append((kind, start, _letter_suffix(text, end), score))
    if "calle" in window:
        for m in rx.calle.finditer(window):
            out.append((kind, lo + m.start(), _letter_suffix(text, lo + m.end()), score))


def _letter_suffix(text: str, end: int) -> int:
    """The end of "12a" in "Kerkstraat 12a": one letter right after the number."""
    if (
        end < len(text)
        and text[end].isalpha()
        and (end + 1 == len(text) or not text[end + 1].isalnum())
    ):
        return end + 1
    return end


def _lower_word_follows(text: str, end: int) -> bool:
    rest = text[end : end + 12].lstrip(" \t")
    return len(rest) > 1 and rest[0].islower() and rest[1].isalpha()
