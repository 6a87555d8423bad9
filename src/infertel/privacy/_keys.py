"""What a key says about its value: personal keys, secret keys, and infertel's own keys.

A value stored under a key named like a person's name, address, phone number, e-mail, birth
date, national id or account number is personal whatever it looks like (``{"name": "Jo"}``
holds a name no detector can recognise from two letters). A value under a secret-named key
(``password``, ``api_key``, ``token``...) is a secret whatever its type. Both are replaced
whole, in every detection mode, for strings, numbers, lists and nested maps alike.

infertel's own attribute keys (``conventions``) are exempt from those name rules (``ml.model.name``
is a model, not a person), but nothing is trusted by name: a key with a declared value shape
(``ml.inference.id`` is 16 hex digits, ``ml.deployment.ring`` one of three words) lets a value
through unscanned only when it fits that shape; anything else is scrubbed like any other text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Final

from infertel import conventions as c

# Key words are matched on the last segment of a dotted key, split on "_", "-", camelCase.
# Several languages' common spellings (en, de, fr, es, it, nl, pt, pl).
_PERSONAL_WORDS: Final[dict[str, str]] = {}


def _words(entity: str, *words: str) -> None:
    for word in words:
        _PERSONAL_WORDS[word] = entity


_words("PERSON", "firstname", "lastname", "fullname", "surname", "forename",
       "givenname", "familyname", "middlename", "maidenname", "nickname", "holder",
       "cardholder", "accountholder", "username", "vorname", "nachname", "nom", "prenom",
       "prénom", "nombre", "apellido", "apellidos", "nome", "cognome", "naam", "achternaam",
       "voornaam", "imie", "imię", "nazwisko", "sobrenome", "holdername", "customername",
       "patientname", "contactname", "displayname", "realname", "legalname", "personname",
       "recipient", "beneficiary", "signatory")
# "name" names people only on its own or with a person-ish qualifier (above): "file_name",
# "feature_name" and "host_name" are not people.
_BARE_ONLY: Final = frozenset({"name", "names"})
_words("LOCATION", "address", "addr", "street", "streetaddress", "city", "town", "zip",
       "zipcode", "postcode", "postalcode", "plz", "strasse", "straße", "adresse", "rue",
       "ville", "calle", "direccion", "dirección", "ciudad", "indirizzo", "via", "citta",
       "città", "straat", "adres", "woonplaats", "ulica", "miasto", "endereco", "endereço",
       "cidade", "home", "residence", "geo", "latitude", "longitude", "lat", "lon", "lng")
_words("PHONE_NUMBER", "phone", "phonenumber", "mobile", "cell", "cellphone", "tel",
       "telephone", "telefon", "telefono", "teléfono", "telefone", "telefoon", "fax",
       "phonenumber", "mobilenumber", "handy", "portable", "cellulare", "msisdn")
_words("EMAIL_ADDRESS", "email", "mail", "emailaddress", "courriel", "correo")
_words("DATE_OF_BIRTH", "dob", "birthdate", "birthday", "dateofbirth", "geburtsdatum",
       "naissance", "nacimiento", "nascita", "geboortedatum", "birth")
_words("NATIONAL_ID", "ssn", "sin", "nino", "nin", "passport", "passportnumber",
       "nationalid", "taxid", "tin", "vat", "personalausweis", "steuerid", "nir", "dni",
       "nie", "nif", "codicefiscale", "bsn", "pesel", "cpf", "aadhaar", "pan", "idnumber",
       "driverslicense", "licensenumber", "socialsecurity", "socialsecuritynumber")
_words("ACCOUNT_NUMBER", "iban", "bic", "swift", "account", "accountnumber", "acct",
       "routing", "routingnumber", "sortcode", "card", "cardnumber", "pan", "ccnumber",
       "creditcard", "cvv", "cvc", "konto", "kontonummer", "compte", "cuenta", "conto",
       "rekening")

_SECRET_WORDS: Final = frozenset({
    "password", "passwd", "pwd", "pass", "passphrase", "secret", "secrets", "token",
    "apikey", "accesskey", "secretkey", "privatekey", "clientsecret", "credential",
    "credentials", "authorization", "auth", "cookie", "cookies", "sessionid", "sessionkey",
    "signature", "otp", "pin", "passwort", "kennwort", "motdepasse", "contrasena",
    "contraseña", "wachtwoord", "haslo", "hasło", "senha", "bearer", "jwt", "refreshtoken",
    "accesstoken", "idtoken", "sharedkey",
})
_SPLIT = re.compile(r"[^0-9A-Za-zÀ-ÿ]+|(?<=[a-z])(?=[A-Z])")


def key_entity(key: str) -> str | None:
    """``"SECRET"``, a personal entity type, or None for a key that says nothing.

    The key's last dotted segment is split into words; the whole segment joined and each word
    are looked up, so ``billing_address``, ``customerEmail``, ``card-number``, ``Vorname`` match.
    """
    segment = key.rsplit(".", 1)[-1]
    if not segment:
        return None
    words = [w.lower() for w in _SPLIT.split(segment) if w]
    if not words:
        return None
    joined = "".join(words)
    if joined in _BARE_ONLY:
        return "PERSON"
    # The whole segment, its head noun (last word) and the last two words joined: "address"
    # in "billing_address", "cardnumber" in "card_number", "email" in "customerEmail" — but not
    # "account" in "account_type", whose head noun is "type".
    candidates = [joined, words[-1]]
    if len(words) > 1:
        candidates.append(words[-2] + words[-1])
    for word in candidates:
        if word in _SECRET_WORDS:
            return "SECRET"
    # Plurals of personal words: "phone_numbers", "emails", "addresses" ("max_tokens" is a
    # count, so secret words are not de-pluralised).
    candidates += [w[:-2] if w.endswith("es") else w[:-1] for w in candidates if w.endswith("s")]
    for word in candidates:
        entity = _PERSONAL_WORDS.get(word)
        if entity is not None:
            return entity
    return None


# ------------------------------------------------------------------ infertel's own keys
_HEX = re.compile(r"[0-9a-f]+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.<>:\-\[\]]{0,199}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DIGEST = re.compile(r"(?:sha256:)?[0-9a-f]{12,64}")
_SEMVER_ISH = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}")


def _hex(length: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and len(v) == length and _HEX.fullmatch(v) is not None


def _one_of(*allowed: str) -> Callable[[Any], bool]:
    options = frozenset(allowed)
    return lambda v: isinstance(v, str) and v in options


def _count(limit: float) -> Callable[[Any], bool]:
    # Counts and sizes: small non-negative integers. A phone or card number held as an int is
    # far larger than any batch or stream this could describe.
    return lambda v: type(v) is int and 0 <= v < limit


def _seconds(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v) and 0 <= v < 1e6


def _regex(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and pattern.fullmatch(v) is not None


def _flag(v: Any) -> bool:
    return type(v) is bool


# Key -> the only value shape it may carry unscanned. Values that do not fit are scrubbed.
SHAPES: Final[dict[str, Callable[[Any], bool]]] = {
    c.INFERENCE_ID: _hex(16),
    c.INFERENCE_OUTCOME: _one_of(c.OUTCOME_SUCCESS, c.OUTCOME_ERROR, c.OUTCOME_CANCELLED),
    c.INFERENCE_KIND: _one_of("sync", "async", "generator", "async_generator"),
    c.DEPLOYMENT_RING: _one_of(*c.RINGS),
    c.BATCH_SIZE: _count(10_000_000),
    c.STREAM_ITEMS: _count(10_000_000),
    c.STREAM_TIME_TO_FIRST_ITEM: _seconds,
    c.DURATION: _seconds,
    c.REDACTION_COUNT: _count(10_000_000),
    c.REDACTION_FAILED: _flag,
    c.REDACTION_ENTITY_TYPE: _regex(re.compile(r"[A-Z][A-Z0-9_]{0,39}")),
    c.SERVICE_INSTANCE_ID: _regex(_UUID),
    c.ARTIFACT_HASH: _regex(_DIGEST),
    c.MODEL_ARTIFACT_DIGEST: _regex(_DIGEST),
    c.MODEL_PARAMS_HASH: _regex(_DIGEST),
    c.VCS_REVISION: _regex(re.compile(r"[0-9a-f]{7,40}(?:-dirty)?")),
    c.CODE_VERSION: _regex(re.compile(r"[0-9a-f]{7,40}(?:-dirty)?")),
    c.DROP_REASON: _regex(re.compile(r"[a-z_]{1,32}")),
    # Exception class names and code identifiers: dotted identifiers, which cannot carry an
    # e-mail address, a number of 7+ digits or free text (spaces are not allowed).
    c.ERROR_TYPE: _regex(_IDENT),
    c.EXCEPTION_TYPE: _regex(_IDENT),
    c.CODE_FUNCTION: _regex(_IDENT),
    "telemetry.sdk.name": _one_of("opentelemetry"),
    "telemetry.sdk.language": _one_of("python"),
    "telemetry.sdk.version": _regex(_SEMVER_ISH),
}

# Keys infertel itself defines: their names are not read as personal or secret words
# (``service.name`` names a service), but their values are still scanned unless they fit a
# shape above.
SDK_KEYS: Final = frozenset({
    value for name, value in vars(c).items()
    if name.isupper() and isinstance(value, str) and "." in value and " " not in value
    and not value.endswith(".")
}) | frozenset(SHAPES)


def fits_shape(key: str, value: Any) -> bool:
    """True when ``key`` is one of infertel's shaped keys and ``value`` has its shape."""
    check = SHAPES.get(key)
    return check is not None and _safe_check(check, value)


def _safe_check(check: Callable[[Any], bool], value: Any) -> bool:
    try:
        return bool(check(value))
    except Exception:  # a hostile __eq__/__len__ must not take the scrubber down
        return False


def is_digit_run(value: int | float) -> bool:
    """True for a number long enough to be a phone, card, SSN or account number."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return False
        value = int(value)
    return abs(value) >= 1_000_000
