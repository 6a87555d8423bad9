"""STREET_ADDRESS: a house number next to a street word, in several languages.

Street words are rare, digits are not: a cheap pass finds where a street word can be (one
regex over capitalised street words, which ``re`` skips to in C, and substring tests for
the lower-case ones), and only windows around those places are scanned by the regexes
that find the addresses:

* number first, English and French ("221B Baker Street", "12, rue de la Paix");
* number last, German and Dutch, name and street word glued or not ("Hauptstraße 5",
  "Hauptstr. 5", "Berliner Straße 5", "Kerkstraat 12"): found on the *reversed* window,
  where the number comes first again, then checked by the readable forward regex;
* street type first, Spanish and Italian ("Calle Mayor 3", "Via Roma, 10").

An address extends over a range or unit after it ("47-26", "Apt. 915", "Piso 3"). Street
names must be capitalised except after an unambiguous street word (rue, calle); words that
are also ordinary nouns ("Court", "Mountains", "Via") need more evidence, so "the 9
Supreme Court justices" or "sent via Slack 2 times" are not addresses. Vocabularies:
:mod:`._detect_address_words`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from infertel.privacy import _detect_address_words as W
from infertel.privacy import _patterns as P
from infertel.privacy._detect_common import Cand

#: Characters scanned on each side of a street word.
_WINDOW = 90
#: Characters before an address searched for an address word (ADDRESS_CONTEXT).
_CONTEXT = 60
_ARTICLE_OR_COMMA = re.compile(
    r",|[ \t](?:de|del|la|las|los|el|della|dei|degli|delle|dello|di|san|santa)[ \t]"
)
#: Street types that may start the text itself (no space before them).
_STARTS = (*W.ES_IT_TYPES, "calle")
_STARTS_FIRST = frozenset(word[0] for word in _STARTS)


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
    branches = [re.escape(ch) + _trie_node(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return "(?:" + body + ")?" if "" in node else body


def _suffix_lookbehind(words: tuple[str, ...]) -> str:
    """A regex asserting that one of ``words`` and a space end right here.

    Grouped by the words' last character, checked first with one look-behind, so a space
    after any other word costs one comparison instead of one per word.
    """
    by_last: dict[str, list[str]] = {}
    for word in words:
        by_last.setdefault(word[-1], []).append(word)
    groups = "|".join(
        f"(?<={re.escape(last)} )(?:" + "|".join(f"(?<={re.escape(w)} )" for w in group) + ")"
        for last, group in sorted(by_last.items())
    )
    return f"(?<=[{''.join(sorted(re.escape(c) for c in by_last))}] )(?:{groups})"


def _first_chars(words: tuple[str, ...]) -> str:
    return "".join(sorted({re.escape(w[0]) for w in words}))


def _capital(word: str) -> str:
    return word[0].upper() + word[1:]


_LOWER = "a-zäöüßàâçéèêëîïôûùáíóúñ"
_NAME = r"[A-ZÀ-ÝÄÖÜ][\w'’.\-]*"
_HOUSE = r"[0-9](?<![^\W_][0-9])(?<![.,:/\-+#$€£%][0-9])[0-9]{0,4}(?![0-9])"
_FR_ARTICLES = r"(?:(?:de|du|des|la|le|les)[ \t]+|[ldLD]['’][ \t]*)"
_FR_FREE = tuple(t for t in W.FR_TYPES if t not in W.FR_NEED_ARTICLE)

#: Number first: English and French.
NUMBER_FIRST = (
    _HOUSE
    + r"(?:[A-Za-z](?![\w]))?"
    # Fail fast: most numbers are not followed by a word (or "bis"/"ter" and a word).
    + r"(?=(?:[ \t]?(?:bis|ter))?,?[ \t]+[0-9]{0,3}[^\W\d_])(?:"
    # English, capitalised: 221B Baker Street, 1600 Amphitheatre Parkway, 350 5th Ave.
    + r"[ \t]+(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?[ \t]+)?"
    + r"(?:(?:[0-9]{1,3}(?:st|nd|rd|th)|[A-Z][A-Za-z'’\-]*\.?)[ \t]+){1,3}"
    + r"(?:(?P<strong>(?i:street|avenue|road|boulevard)|"
    + _trie(W.EN_STRONG)
    + r")|(?P<generic>"
    + _trie(W.EN_GENERIC)
    + r"))(?![\w])\.?"
    # French: 12 rue de la Paix, 5 bis avenue des Champs-Élysées, 3 place de l'Étoile
    + r"|(?:[ \t]?(?:bis|ter))?,?[ \t]+(?:(?i:"
    + _trie(_FR_FREE)
    + r")[ \t]+"
    + _FR_ARTICLES
    + r"*|(?i:"
    + _trie(W.FR_NEED_ARTICLE)
    + r")[ \t]+"
    + _FR_ARTICLES
    + r"+)[^\W\d_][\w'’\-]*(?:[ \t]+"
    + _FR_ARTICLES
    + r"*"
    + _NAME
    + r"){0,3}"
    # English, lower case, full street words only: 12 baker street
    + r"|[ \t]+(?:(?!(?:the|a|an|of|and|or|to|in|on|at|for|by|with|from|per|more|lane|two"
    + r"|one|way|side|dirt|toll|back|long|new|old|open|closed)\b)[a-z][a-z'\-]+[ \t]+){1,2}"
    + r"(?:street|avenue|road|boulevard)(?![\w]))"
)

#: German / Dutch number last, matched on the reversed text: the number, then the street
#: word right before it ("5 eßartstpuaH").
SUFFIX_GATE = (
    r"[0-9](?<![0-9][0-9])[0-9]{0,3}(?![0-9])[ \t]*(?i:"
    + "|".join(re.escape(w[::-1]) for w in sorted(W.DE_NL_SUFFIXES, key=len, reverse=True))
    + r")"
)
#: German / Dutch, forward (checked at each gate hit, ending at the number): Hauptstraße
#: 5, Karl-Marx-Straße 5, Berliner Straße 5, Hauptstr. 5, Kerkstraat 12, Lolahof 7.
SUFFIX_FORM = (
    r"(?:(?:[A-ZÄÖÜ][\w.\-]*|van|de|der|den|het|von|am|an|auf|zum|zur)[ \t]+){0,2}"
    r"(?<![\w\-])(?:[A-ZÄÖÜ][a-zà-ÿß]{2,}(?:" + _trie(W.DE_NL_SUFFIXES) + r")"
    r"|[A-ZÄÖÜ][a-zà-ÿß]*(?:-(?:[A-ZÄÖÜ][a-zà-ÿß]*|van|von|de|der|den|zu))*[ \t-]"
    + _trie(tuple(_capital(w) for w in W.DE_NL_SUFFIXES))
    + r")[ \t]*[0-9]{1,4}\Z"
)
_ARTICLES = (
    r"(?:(?:de|del|la|las|los|el|y|della|dei|degli|delle|dello|di|san|santa|s\.)[ \t]+"
    r"|d['’])"
)
#: Spanish and Italian: the street type first, capitalised (it is the regex's anchor).
KEYWORD_FORM = (
    _trie(W.ES_IT_TYPES)
    + r"[ \t]*"
    + _ARTICLES
    + r"*"
    + _NAME
    + r"(?:[ \t]+"
    + _ARTICLES
    + r"*"
    + _NAME
    + r"){0,3},?[ \t]*(?:n[º°.o]{0,3}[ \t]*)?[0-9]{1,4}(?![0-9])"
)
#: Lower-case "calle mayor 3" (only when the text holds "calle ").
CALLE_LOWER = (
    r"calle[ \t]+" + _ARTICLES + r"*[\w'’.\-]+(?:[ \t]+" + _ARTICLES + r"*[\w'’.\-]+){0,3}"
    r",?[ \t]*(?:n[º°.o]{0,3}[ \t]*)?[0-9]{1,4}(?![0-9])"
)
#: What may follow an address: a number range or letter ("47-26", "83/53", "12a"), then a
#: unit ("Apt. 915", "Piso 3", "Appartamento 17").
TRAILER = (
    r"(?:[-/][0-9]{1,4}(?![0-9]))?(?:[A-Za-z](?![\w]))?(?:,?[ \t]+(?:"
    + _trie(W.UNITS)
    + r")[ \t]*#?[ \t]*[0-9]{1,5}[A-Za-z]?(?![\w]))?"
)


class _AddressRegexes:
    def __init__(self) -> None:
        # One pass finds every place an address can be, all after a space (a regex that
        # starts with a literal is searched in C): a capitalised street word ("Baker
        # Street", "12 Rue", "Calle Mayor"), a lower-case one ("12 baker street", "12, rue
        # de", "calle mayor"), or a digit after a street suffix, glued ("Römerallee 419")
        # or not ("Karl-Marx-Straße 5"), where a one-character look-behind rejects the
        # spaces inside numbers before the suffixes are compared.
        capitalised = (
            W.EN_STRONG
            + W.EN_GENERIC
            + tuple(_capital(w) for w in W.FR_TYPES + W.DE_NL_SUFFIXES)
            + W.ES_IT_TYPES
        )
        suffixes = W.SUFFIX_HINTS + tuple(_capital(h) for h in W.SUFFIX_HINTS)
        # ``re`` tries alternatives one after the other, so each is guarded by a class of
        # its first characters: most spaces (before other lower-case letters) fail at once.
        self.hint = re.compile(
            f" (?=[A-ZÀ-ÝÄÖÜ0-9{_first_chars(W.LOWER_HINTS)}])(?:(?=[A-ZÀ-ÝÄÖÜ])"
            + _trie(capitalised)
            + rf"(?![{_LOWER}])|(?=[{_first_chars(W.LOWER_HINTS)}])"
            + _trie(W.LOWER_HINTS)
            + r"(?![\w])|(?=[0-9])"
            + _suffix_lookbehind(suffixes)
            + ")"
        )
        # Types that start an address may also follow a quote or a line break ('"Calle
        # Mayor 3"'): one regex per character, since a literal first character is searched
        # for several times faster than a class of them.
        self.leading = tuple(
            (
                ch,
                re.compile(re.escape(ch) + "(?=[A-Z])" + _trie(W.ES_IT_TYPES) + rf"(?![{_LOWER}])"),
            )
            for ch in "\"'\n"
        )
        self.first = re.compile(NUMBER_FIRST)
        self.gate = re.compile(SUFFIX_GATE)
        self.suffix = re.compile(SUFFIX_FORM)
        self.keyword = re.compile(KEYWORD_FORM)
        self.calle = re.compile(CALLE_LOWER)
        self.trailer = re.compile(TRAILER)
        self.city = re.compile(r",?[ \t]*(?:[0-9]{4,5}[ \t]+)?[A-Z][a-z]|\n[ \t]*[A-Z]")
        self.unit_first = re.compile(
            r"(?:Flat|Studio|Apt\.?|Apartment|Unit|Suite)[ \t]+[0-9]{1,4}[A-Za-z]?[ \t]*[\n,]"
            r"[ \t]*(?:[A-Z][A-Za-z'’\-]*[ \t]+){1,3}(?:"
            + _trie(W.EN_STRONG + W.EN_GENERIC)
            + r")(?![\w])\.?"
        )


@lru_cache(maxsize=1)
def _regexes() -> _AddressRegexes:
    return _AddressRegexes()


def address_candidates(text: str, out: list[Cand]) -> None:
    """Append STREET_ADDRESS candidates in ``text`` (which holds at least one digit)."""
    rx = _regexes()
    windows = [m.span() for m in rx.hint.finditer(text)]
    for char, leading in rx.leading:
        if char in text:
            windows.extend(m.span() for m in leading.finditer(text))
    if text[:1] in _STARTS_FIRST and text.startswith(_STARTS):
        windows.append((0, 1))
    if not windows:
        return
    windows.sort()
    merged = [windows[0]]
    for lo, hi in windows[1:]:
        if lo <= merged[-1][1] + 2 * _WINDOW:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    for lo, hi in merged:
        _scan_window(rx, text, max(0, lo - _WINDOW), min(len(text), hi + _WINDOW), out)


def _scan_window(rx: _AddressRegexes, text: str, lo: int, hi: int, out: list[Cand]) -> None:
    score = P.SCORES[P.STREET_ADDRESS]
    kind = P.STREET_ADDRESS
    window = text[lo:hi]
    for m in rx.first.finditer(window):
        start, end = lo + m.start(), lo + m.end()
        if m.group("generic") and not _evidence(rx, text, start, end):
            continue
        out.append((kind, start, _trailer(rx, text, end), score))
    n = len(window)
    for gate in rx.gate.finditer(window[::-1]):
        end = n - gate.start()  # forward end of the house number
        named = rx.suffix.search(window, max(0, end - 80), end)
        if named is not None:
            out.append((kind, lo + named.start(), _trailer(rx, text, lo + end), score))
    for m in rx.keyword.finditer(window):
        start, end = lo + m.start(), lo + m.end()
        if start > 0 and text[start - 1].isalnum():
            continue  # inside a word
        if (
            text.startswith(W.ES_IT_AMBIGUOUS, start)
            and _lower_word_follows(text, end)
            # "Via Roma, 10", "Plaza de España 3": written as an address after all
            and not _ARTICLE_OR_COMMA.search(text, start, end)
        ):
            continue
        out.append((kind, start, _trailer(rx, text, end), score))
    for m in rx.unit_first.finditer(window):  # "Flat 60\nPaula Court" (en_GB)
        out.append((kind, lo + m.start(), lo + m.end(), score))
    if "calle " in window:
        for m in rx.calle.finditer(window):
            start = lo + m.start()
            if start == 0 or not text[start - 1].isalnum():
                out.append((kind, start, _trailer(rx, text, lo + m.end()), score))


def _trailer(rx: _AddressRegexes, text: str, end: int) -> int:
    """The end of the address, over a range, letter or unit after ``end``."""
    m = rx.trailer.match(text, end)
    return end if m is None else m.end()


def _evidence(rx: _AddressRegexes, text: str, start: int, end: int) -> bool:
    """An address word before it, a unit or a city after it, or nothing else in the text."""
    before = text[max(0, start - _CONTEXT) : start].lower()
    if any(word in before for word in W.ADDRESS_CONTEXT):
        return True
    if _trailer(rx, text, end) > end or rx.city.match(text, end) is not None:
        return True
    return not text[:start].strip(" \t\"':=") and not text[end:].strip(" \t\"'.,;")


def _lower_word_follows(text: str, end: int) -> bool:
    rest = text[end : end + 12].lstrip(" \t")
    return len(rest) > 1 and rest[0].islower() and rest[1].isalpha()
