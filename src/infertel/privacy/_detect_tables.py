"""Lookup tables for the pattern detector's validators (plain data, no logic).

Placeholder secret values, URL parameters that carry credentials, file extensions that look
like top-level domains, and the per-country IBAN structures.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------
# Secret values that are placeholders, not secrets.
# --------------------------------------------------------------------------------------

SECRET_PLACEHOLDERS = frozenset(
    {
        "null",
        "none",
        "nil",
        "true",
        "false",
        "undefined",
        "redacted",
        "required",
        "optional",
        "string",
        "<redacted>",
        "changeme_placeholder",
    }
)

# --------------------------------------------------------------------------------------
# URL query / fragment parameters that carry credentials (lower-cased).
# --------------------------------------------------------------------------------------

URL_SECRET_PARAMS = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth_token",
        "session_token",
        "api_key",
        "apikey",
        "api-key",
        "key",
        "sig",
        "signature",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "auth",
        "jwt",
        "sessionid",
        "session_id",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
        "code",
    }
)

# --------------------------------------------------------------------------------------
# Email: file extensions that look like top-level domains ("icon@2x.png"). Presidio
# validates the domain against the public-suffix list with tldextract; a suffix list is
# not bundled here, so any alphabetic TLD is accepted except these.
# --------------------------------------------------------------------------------------

EMAIL_FAKE_TLDS = frozenset(
    {
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "webp",
        "bmp",
        "ico",
        "js",
        "mjs",
        "css",
        "txt",
        "json",
        "yaml",
        "yml",
        "xml",
        "html",
        "htm",
        "pdf",
        "tar",
        "gz",
        "tgz",
        "exe",
        "dll",
        "lock",
        "log",
        "csv",
        "ini",
        "toml",
        "cfg",
        "whl",
    }
)

# --------------------------------------------------------------------------------------
# IBAN BBAN structures per country (n = digit, a = upper-case letter, c = alphanumeric,
# the number before a letter = count), after Presidio's
# ``generic/iban_patterns.regex_per_country`` with its length errors fixed from the SWIFT
# IBAN registry: Portugal (21n, Presidio 17n), Palestine and Qatar (4a21c, Presidio 21
# chars), Mauritius (4a19n3a, Presidio 4a19n1a). Presidio does not notice these because
# it checks the country format with a prefix ``re.match``; here the length is exact.
# Azerbaijan, Jordan and the Dominican Republic use the registry's alphanumeric account
# part; Russia and El Salvador are added.
IBAN_BBAN: dict[str, str] = {
    "AL": "8n16c",
    "AD": "8n12c",
    "AT": "16n",
    "AZ": "4a20c",
    "BH": "4a14c",
    "BY": "4c4n16c",
    "BE": "12n",
    "BA": "16n",
    "BR": "23n1a1c",
    "BG": "4a6n8c",
    "CR": "18n",
    "HR": "17n",
    "CY": "8n16c",
    "CZ": "20n",
    "DK": "14n",
    "DO": "4c20n",
    "TL": "19n",
    "EE": "16n",
    "FO": "14n",
    "FI": "14n",
    "FR": "10n11c2n",
    "GE": "2c16n",
    "DE": "18n",
    "GI": "4a15c",
    "GR": "7n16c",
    "GL": "14n",
    "GT": "24c",
    "HU": "24n",
    "IS": "22n",
    "IE": "4c14n",
    "IL": "19n",
    "IT": "1a10n12c",
    "JO": "4a4n18c",
    "KZ": "3n13c",
    "XK": "16n",
    "KW": "4a22c",
    "LV": "4a13c",
    "LB": "4n20c",
    "LI": "5n12c",
    "LT": "16n",
    "LU": "3n13c",
    "MT": "4a5n18c",
    "MR": "23n",
    "MU": "4a19n3a",
    "MD": "20c",
    "MC": "10n11c2n",
    "ME": "18n",
    "NL": "4a10n",
    "MK": "3n10c2n",
    "NO": "11n",
    "PK": "4c16n",
    "PS": "4a21c",
    "PL": "24n",
    "PT": "21n",
    "QA": "4a21c",
    "RO": "4a16c",
    "RU": "14n15c",
    "SM": "1a10n12c",
    "SA": "2n18c",
    "RS": "18n",
    "SK": "20n",
    "SI": "15n",
    "ES": "20n",
    "SE": "20n",
    "CH": "5n12c",
    "SV": "4a20n",
    "TN": "20n",
    "TR": "5n17c",
    "AE": "19n",
    "GB": "4a14n",
    "VA": "18n",
    "VG": "4c16n",
    "EG": "25n",
    "IQ": "4a15n",
    "LY": "21n",
    "LC": "4a24c",
    "SC": "4a20n3a",
    "UA": "6n19c",
}
