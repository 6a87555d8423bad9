"""Numbers held as numbers: a card, phone or SSN stored as an int (or integral float).

Telemetry payloads carry such values as ``int`` / ``numpy.int64`` as often as strings; as
digits they have no separators, no "+" and no surrounding words, so the rules differ from
free text: a 13-19 digit Luhn-valid card number and E.164 digits (country code included,
valid for that country) are enough on their own; a 9-digit SSN, a national phone number
or a 12-digit card need the value's key to say what it is.
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING, Any

from infertel.privacy import _patterns as P
from infertel.privacy import _validators as V
from infertel.privacy._detect_common import Cand, phone_context

if TYPE_CHECKING:
    from infertel.privacy._detect_numbers import NumberScanner

#: Larger magnitudes are not exact as floats, and no entity has more than 19 digits.
_FLOAT_LIMIT = 1e19


def number_digits(value: Any) -> str | None:
    """``str(abs(int(value)))`` for integers and integral floats, else None."""
    if isinstance(value, (bool, str, bytes, bytearray)):
        return None  # strings are text (analyze); bools are not numbers here
    try:
        number = operator.index(value)
    except TypeError:
        try:
            f = float(value)
        except (TypeError, ValueError, OverflowError):
            return None
        if not math.isfinite(f) or not f.is_integer() or abs(f) >= _FLOAT_LIMIT:
            return None
        number = int(f)
    return str(abs(number))


def number_candidates(
    scanner: NumberScanner, digits: str, key: str | None, strict: bool = False
) -> list[Cand]:
    """Entity candidates covering all of ``digits`` (at most one).

    ``strict`` treats every number as if its key named it: any 9-digit number that can be
    an issued SSN, any national phone number, any Luhn-valid 12-digit Maestro number.
    """
    n = len(digits)
    wanted = scanner._num_entities
    scores = P.SCORES
    lowered = (key or "").lower()
    validate = V.phone_validator()
    regions = scanner.phone_regions
    # 13 digits are a legacy Visa number far less often than E.164 digits.
    e164 = P.PHONE_NUMBER in wanted and 11 <= n <= 15 and validate(digits, True, regions)
    if e164 and n == 13:
        return [(P.PHONE_NUMBER, 0, n, scores[P.PHONE_NUMBER])]
    # Issuer prefix 1 is UATP, 15 digits; other 1-led integers are timestamps (epoch
    # microseconds, nanoseconds) far more often than cards.
    if (
        P.CREDIT_CARD in wanted
        and 12 <= n <= 19
        and (digits[0] != "1" or n == 15)
        and V.card_ok(digits)
        and (n > 12 or strict or any(word in lowered for word in P.CARD_CONTEXT))
    ):
        return [(P.CREDIT_CARD, 0, n, scores[P.CREDIT_CARD])]
    if (
        P.US_SSN in wanted
        and n == 9
        and V.ssn_ok(digits)
        and (strict or any(word in lowered for word in P.SSN_CONTEXT))
    ):
        return [(P.US_SSN, 0, n, scores[P.US_SSN])]
    if P.PHONE_NUMBER in wanted and 7 <= n <= 15:
        if e164:
            return [(P.PHONE_NUMBER, 0, n, scores[P.PHONE_NUMBER])]
        named = strict or (key is not None and phone_context(key, len(key)))
        if named and validate(digits, False, regions):
            return [(P.PHONE_NUMBER, 0, n, scores[P.PHONE_NUMBER])]
    return []
