"""Regular expressions and tables for the pattern PII detector.

Everything here is plain data, compiled on first use by :mod:`infertel.privacy._detector`.

The entity logic mirrors Presidio's predefined recognizers (presidio-analyzer 2.2.x,
``presidio_analyzer/predefined_recognizers``); each block cites the recognizer it follows.
Presidio runs one regex per recognizer over the whole text (and python-phonenumbers'
matcher once per region); here each entity family has one candidate regex, run only when
a cheap substring test says the text can hold it, and only candidates are validated.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------
# Entity type names
# --------------------------------------------------------------------------------------

EMAIL_ADDRESS = "EMAIL_ADDRESS"
PHONE_NUMBER = "PHONE_NUMBER"
CREDIT_CARD = "CREDIT_CARD"
US_SSN = "US_SSN"
IP_ADDRESS = "IP_ADDRESS"
IBAN_CODE = "IBAN_CODE"
URL_CREDENTIALS = "URL_CREDENTIALS"
AWS_ACCESS_KEY = "AWS_ACCESS_KEY"
AWS_SECRET_KEY = "AWS_SECRET_KEY"
GITHUB_TOKEN = "GITHUB_TOKEN"
SLACK_TOKEN = "SLACK_TOKEN"
JWT = "JWT"
BEARER_TOKEN = "BEARER_TOKEN"
PRIVATE_KEY = "PRIVATE_KEY"
SECRET = "SECRET"
STREET_ADDRESS = "STREET_ADDRESS"
PERSON = "PERSON"
LOCATION = "LOCATION"

#: Entities found by the pattern pass (``detection="patterns"``).
PATTERN_ENTITIES: tuple[str, ...] = (
    EMAIL_ADDRESS,
    PHONE_NUMBER,
    CREDIT_CARD,
    US_SSN,
    IP_ADDRESS,
    IBAN_CODE,
    URL_CREDENTIALS,
    AWS_ACCESS_KEY,
    AWS_SECRET_KEY,
    GITHUB_TOKEN,
    SLACK_TOKEN,
    JWT,
    BEARER_TOKEN,
    PRIVATE_KEY,
    SECRET,
    STREET_ADDRESS,
)

#: Entities added by ``detection="ner"``.
NER_ENTITIES: tuple[str, ...] = (PERSON, LOCATION)

# --------------------------------------------------------------------------------------
# Scores. Validated (checksummed / parsed) findings score high, like Presidio, which sets
# MAX_SCORE when ``validate_result`` passes. The ordering decides which of two
# overlapping findings names the merged span (ties: the longer one): a container (a
# credential URL, a PEM block) outranks what it contains, and a structurally typed token
# (JWT) outranks the generic context it appears in ("Bearer <JWT>" is a JWT).
# --------------------------------------------------------------------------------------

SCORES: dict[str, float] = {
    PRIVATE_KEY: 1.0,
    URL_CREDENTIALS: 1.0,  # outranks the e-mail / AWS key id / JWT candidates inside it
    CREDIT_CARD: 1.0,  # Luhn-validated (Presidio: MAX_SCORE after validate_result)
    IBAN_CODE: 1.0,  # mod-97 validated (Presidio: MAX_SCORE after validate_result)
    EMAIL_ADDRESS: 1.0,  # domain-validated (Presidio: MAX_SCORE after validate_result)
    JWT: 0.95,
    GITHUB_TOKEN: 0.95,
    SLACK_TOKEN: 0.95,
    AWS_ACCESS_KEY: 0.95,
    AWS_SECRET_KEY: 0.9,
    US_SSN: 0.85,
    PERSON: 0.85,  # Presidio SpacyRecognizer ner_strength
    LOCATION: 0.85,
    BEARER_TOKEN: 0.8,
    SECRET: 0.8,  # a value assigned to a secret-named key
    PHONE_NUMBER: 0.75,
    STREET_ADDRESS: 0.7,  # house number + street word; no checksum
    IP_ADDRESS: 0.6,  # Presidio IpRecognizer pattern score
}

# --------------------------------------------------------------------------------------
# Candidate scanners. Presidio runs every recognizer's regexes over the whole text; here
# each entity family has one regex, run only when a C-level substring test ("gate") says
# the text can hold it. Every regex starts with a literal or a character class so ``re``
# skips impossible start positions in C; "not preceded by" conditions are therefore
# written as look-behinds *after* the first character (``X(?<![...]X)``) instead of
# before it, which would disable that optimisation and cost ~15 ns per character.
# Overlapping candidates of different families are merged afterwards by score.
# --------------------------------------------------------------------------------------

# PEM private keys, including unterminated (truncated) blocks and JSON-escaped newlines.
PEM = (
    r"-----BEGIN[ ](?:[A-Z0-9]+[ ])*PRIVATE[ ]KEY(?:[ ]BLOCK)?-----"
    r"(?:[\s\S]*?-----END[ ](?:[A-Z0-9]+[ ])*PRIVATE[ ]KEY(?:[ ]BLOCK)?-----"
    r"|[A-Za-z0-9+/=\s\\:,-]*)"
)

# URLs are found from their "://": scheme characters are walked back from it, then
# this matches the rest. Only URLs carrying credentials are kept (see validators);
# Presidio's UrlRecognizer flags every URL and bare domain, but plain URLs are not PII.
URL_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
URL_REST = r"[^\s<>\"'`]+"

# JSON Web Tokens: base64url(header) . base64url(payload) . signature ("eyJ" = '{"').
JWT_RE = r"eyJ(?<![A-Za-z0-9_\-]eyJ)[A-Za-z0-9_\-]{6,}\.eyJ[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]*"

# GitHub tokens: classic (ghp_/gho_/ghu_/ghs_/ghr_ + 36 base62) and fine-grained PATs.
GITHUB = (
    r"g(?<![A-Za-z0-9_]g)(?:h[pousr]_[A-Za-z0-9]{30,251}|ithub_pat_[A-Za-z0-9_]{30,242})"
    r"(?![A-Za-z0-9_])"
)

# Slack tokens (bot, user, app-level, refresh, legacy) — xox[baprs]- and xapp-.
SLACK = (
    r"x(?<![A-Za-z0-9_]x)(?:ox[baprs]-[A-Za-z0-9][A-Za-z0-9\-]{8,250}"
    r"|app-\d-[A-Za-z0-9\-]{10,250})"
)

# AWS access key ids (long-term AKIA, temporary ASIA): 4-letter prefix + 16 [A-Z0-9].
AWS_KEY = r"A(?<![A-Za-z0-9]A)(?:KIA|SIA)[A-Z0-9]{16}(?![A-Za-z0-9])"

# Explicit secret access key assignments ("aws_secret_access_key = ...") are found by
# the generic assignment scanner below (the key is in SECRET_KEYS); a 40-character
# base64 value makes the finding an AWS_SECRET_KEY.
AWS_SECRET_VALUE = r"[A-Za-z0-9/+]{40}"

#: A 40-char secret access key shortly after an access key id (proximity rule).
AWS_SECRET_NEAR = r"[A-Za-z0-9/+]{40}(?<![A-Za-z0-9/+=][A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
AWS_SECRET_WINDOW = 160

# "<...>token <value>", "token=<value>", "token: '<value>'" (exception messages, query
# strings, headers): matched from the literal "oken"; the detector checks that "token" ends
# the word before it ("pad_token", "x-auth-token", "accessToken", not "tokens" or
# "tokenizer") and that the value is opaque (letters and digits, 16+ characters), so
# "pad_token=<pad>" or "token count 4096" are not findings.
TOKEN_VALUE = (
    r"oken(?![A-Za-z0-9_])[\"']?(?:[ \t]*[:=][ \t]*|[ \t]+)[\"']?(?:[Bb]earer[ \t]+)?"
    r"(?P<v>[A-Za-z0-9\-._~+/]{16,}=*)(?![A-Za-z0-9\-._~+/=])"
)
TOKEN_MIN_CHARS = 16

# Provider API keys common in ML serving code: OpenAI / Anthropic ("sk-", "sk-proj-",
# "sk-ant-") and Hugging Face ("hf_"). Reported as SECRET.
API_KEY_PREFIXED = (
    r"(?:s(?<![A-Za-z0-9_\-]s)k-(?:proj-|ant-[a-z0-9]{2,8}-|svcacct-)?[A-Za-z0-9_\-]{20,}"
    r"|h(?<![A-Za-z0-9_\-]h)f_[A-Za-z]{30,40})(?![A-Za-z0-9_\-])"
)

# "Bearer <token>" (RFC 6750 b64token); the token is the finding.
# Matched from the literal "earer" / "EARER"; the detector checks the "B" before it.
BEARER = r"earer\s+(?P<v>[A-Za-z0-9\-._~+/]{8,}=*)"
BEARER_UPPER = r"EARER\s+(?P<v>[A-Za-z0-9\-._~+/]{8,}=*)"

# "Authorization: Basic <base64(user:pass)>"; the credentials are the finding (SECRET).
# Matched from the literal "uthorization"; the detector checks the "A" before it.
BASIC = r"uthorization[\"']?\s*[:=]\s*[\"']?Basic\s+(?P<v>[A-Za-z0-9+/]{6,}=*)"

# Generic "<secret-ish key> = value" / "key: value" / JSON "key": "value" assignments.
# The key may be prefixed (db_password, MYSQL_ROOT_PASSWORD, x-api-key): only a letter
# or digit may not precede it. The value is the finding. Bare "token"/"key" are left out
# on purpose: ML telemetry is full of pad_token=..., max_token=..., key=... that are not
# secrets.
SECRET_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "pass",
    "secret",
    "client[_\\-]?secret",
    "app[_\\-]?secret",
    "secret[_\\-]?key",
    "api[_\\-]?key",
    "apikey",
    "api[_\\-]?secret",
    "api[_\\-]?token",
    "auth[_\\-]?token",
    "access[_\\-]?token",
    "refresh[_\\-]?token",
    "session[_\\-]?token",
    "id[_\\-]?token",
    "private[_\\-]?key",
    "credentials?",
    "aws_?secret_?(?:access_?)?key",
)
_INITIALS = sorted({k[0] for k in SECRET_KEYS})
_FIRST = "[" + "".join(c + c.upper() for c in _INITIALS) + "]"
#: The scanner regex: a key's first letter as a character class (fast skip), the rest
#: case-insensitively; the detector re-checks the whole key with SECRET_KEY_FULL.
SECRET_ASSIGN = (
    _FIRST
    + r"(?<![A-Za-z0-9]"
    + _FIRST
    + r")(?i:"
    + "|".join(sorted({k[1:] for k in SECRET_KEYS}, key=len, reverse=True))
    + r")(?![A-Za-z0-9])[\"']?[ \t]*[:=][ \t]*[\"']?"
    + r"(?P<v>[^\s\"'`,;&<>(){}\[\]]{3,512})"
)
#: The bound on the value in SECRET_ASSIGN: longer values are extended in Python (a rare
#: case), so "password=password=..." does not rescan the rest of the text for every key.
SECRET_VALUE_BOUND = 512
SECRET_VALUE_STOP = frozenset(" \t\r\n\"'`,;&<>(){}[]")
SECRET_KEY_FULL = "(?i:" + "|".join(SECRET_KEYS) + r")(?![A-Za-z0-9])"
#: Every key above contains one of these (lower-cased text is tested before scanning).
SECRET_KEY_HINTS: tuple[str, ...] = ("pass", "pwd", "secret", "key", "token", "credential")

# Email addresses are found from their "@": the local part is walked back over these
# characters (RFC 5322 atext and dots, as in Presidio's EmailRecognizer "Email (Medium)"
# pattern, minus "=" so "email=x@y.com" does not absorb the key), then the domain part
# of Presidio's pattern is matched forward.
EMAIL_LOCAL_SPECIALS = frozenset(".!#$%&'*+/?^`{|}~-_")
EMAIL_DOMAIN = r"\w+(?:-+\w+)*(?:\.\w+(?:-+\w+)*)+"

# IBAN — Presidio IbanRecognizer "IBAN Generic": country, check digits, then BBAN
# characters with optional single space/dash separators; trimmed to the country's length.
# (No look-behind: the detector checks the character before a candidate, which is
# cheaper than a look-behind at every capital letter.)
IBAN = r"[A-Z][A-Z][0-9]{2}(?:[ \-./]?[A-Z0-9]){10,30}"

# IPv6 candidates (Presidio IpRecognizer's "IPv6", "IPv4_embedded" and "IPv4_mapped"
# shapes, zone ids and prefix lengths included) are found from a colon followed by a hex
# digit or another colon — a literal first character, so ``re`` jumps between colons —
# and the leading hex group is walked back in Python. ``ipaddress`` is the validator, as
# in Presidio. A candidate must contain "::" or seven colons, so its first colon is followed
# by at most four hex digits and another colon: other colons ("Authorization:Basic", "a:b")
# are not candidates.
IPV6 = r":(?=[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:.]*"
IPV6_SUFFIX = r"(?:%[0-9A-Za-z]+)?(?:/[0-9]{1,3})?"
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

# Digit runs: phone numbers, card numbers, SSNs and IPv4 addresses (with an optional
# CIDR suffix). Digit groups joined by one separator (space . - /) or parentheses,
# optionally led by "+" or "(". Not preceded by a letter or digit, "+", "." (decimals,
# versions) or a "digit:" (clock times); at least seven run characters, so "3.5" or
# "2024" never reach Python. A run right after "-", "_" or "/" ("id-<card>",
# "/users/<ssn>/") is *glued*: the detector accepts only strongly shaped entities there.
NUM = (
    r"[+(0-9](?<![^\W_][+(0-9])(?<![+.][+(0-9])(?<![0-9]:[0-9])(?=[0-9 +().\-/]{6})"
    r"\(?[0-9]*"
    r"(?:(?:[ .\-/]|\)[ .\-]?|[ .\-]?\()[0-9]+)*\)?"
)
# --------------------------------------------------------------------------------------
# US SSN (Presidio UsSsnRecognizer): context words for bare 9-digit numbers and the
# canonical sample numbers it invalidates.
# --------------------------------------------------------------------------------------

SSN_CONTEXT = (
    "ssn",
    "social security",
    "socialsecurity",
    "social_security",
    "social-security",
    "soc. sec",
    "soc sec",
    "ssid",
    "ss#",
    "ss no",
)
#: Characters after a bare 9-digit number searched for SSN context ("123456789 (SSN)").
SSN_CONTEXT_AFTER = 24
#: Presidio CreditCardRecognizer.CONTEXT, plus payment words (a Luhn-valid 12-digit number
#: after "charge" is a card far more often than anything else); needed for bare 12-digit
#: (Maestro) numbers.
CARD_CONTEXT = (
    "charge",
    "payment",
    "billing",
    "debit",
    "credit",
    "card",
    "visa",
    "mastercard",
    "cc",
    "amex",
    "discover",
    "jcb",
    "diners",
    "maestro",
    "instapayment",
)
#: Characters before a candidate searched for context words.
CONTEXT_WINDOW = 40
SSN_SAMPLES = frozenset({"123456789", "987654320", "078051120"})

# --------------------------------------------------------------------------------------
# Phone numbers (Presidio PhoneRecognizer): national-format numbers are tried against
# these regions, the same default as PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS;
# international "+CC" / "00CC" numbers are checked against their own country.
# --------------------------------------------------------------------------------------

DEFAULT_PHONE_REGIONS: tuple[str, ...] = (
    "US",
    "GB",
    "DE",
    "FR",
    "IL",
    "IN",
    "CA",
    "BR",
    # Added to Presidio's eight: Spain, Italy and Poland write national numbers without a
    # trunk prefix (9-10 digits), the Netherlands with one.
    "ES",
    "IT",
    "NL",
    "PL",
)
#: Words before a national number that make it a phone number even when its digits alone
#: would be too weak (9 digits without separators, no trunk prefix): several languages'
#: "phone", "mobile", "call" and common key spellings, as substrings of the lower-cased
#: CONTEXT_WINDOW before the number. "tel", "bel" and "ring" count only as whole words
#: (not "telemetry", "hotel", "label", "string"): PHONE_CONTEXT_WORDS.
PHONE_CONTEXT = (
    "phone",
    "telef",
    "teléf",
    "téléph",
    "mobil",
    "mobiel",
    "móvil",
    "movil",
    "cell",
    "call",
    "whatsapp",
    "sms",
    "fax",
    "contact",
    "reach",
    "dial",
    "llam",
    "llám",
    "tfno",
    "tlf",
    "appel",
    "portable",
    "chiama",
    "bellen",
    "komórk",
    "komork",
    "zadzw",
    "ligue",
    "ligar",
    "celular",
    "handy",
    "rufnummer",
)
PHONE_CONTEXT_WORDS = ("tel", "bel", "ring")
