"""What the OpenTelemetry Collector configs in ``collector-config/otelcol/`` derive from infertel.

One source of truth: the ``redaction`` processor's ``allowed_keys`` are the attribute names of
:mod:`infertel.conventions`, its ``blocked_values`` cover the entities infertel's own detector
finds, and the metric ``keep_keys`` list is ``conventions.EXPORTED_METRIC_ATTRIBUTES``.
``tests/collector/test_configs.py`` checks the YAML files equal what this module computes;
``python -m infertel.tools._otelcol --write collector-config/otelcol/*.yaml`` regenerates them in
place after the conventions change (without ``--write`` it prints them).

The value patterns must run in the Collector, i.e. under Go's RE2: no look-arounds and no
back-references. They are coarser than infertel's detector (no checksums, no context rules): the
Collector layer is a safety net behind the SDK's scrubber, not a replacement for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from infertel import conventions as c

# Constant-name prefixes in conventions.py whose values are not attribute keys: metric and
# event names, and attribute *values* (outcomes, segment buckets, drop reasons).
_NOT_ATTRIBUTE_PREFIXES: Final = ("METRIC_", "EVENT_", "OUTCOME_", "DROP_REASON_", "SEGMENT_")
_NOT_ATTRIBUTES: Final = frozenset({"INSTRUMENTATION_SCOPE", "RINGS"})

# Entity (as infertel's detector names it) -> RE2-compatible pattern masking its values.
BLOCKED_VALUE_PATTERNS: Final[Mapping[str, str]] = {
    "EMAIL_ADDRESS": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "PHONE_NUMBER": (
        r"\+[1-9][0-9]{0,2}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{2,4}){2,4}"
        r"|\([0-9]{3}\)[ ]?[0-9]{3}[ .-][0-9]{4}|\b[0-9]{3}[.-][0-9]{3}[.-][0-9]{4}\b"
    ),
    "CREDIT_CARD": (
        r"\b(?:4[0-9]{3}|5[1-5][0-9]{2}|2[2-7][0-9]{2}|6(?:011|5[0-9]{2}))(?:[ -]?[0-9]{4}){3}\b"
        r"|\b3[47][0-9]{2}[ -]?[0-9]{6}[ -]?[0-9]{5}\b"
    ),
    "US_SSN": r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b",
    "IP_ADDRESS": (
        r"\b(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\b"
        r"|\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b"
    ),
    "IBAN_CODE": r"\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b",
    "URL_CREDENTIALS": r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@",
    "AWS_ACCESS_KEY": r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
    "AWS_SECRET_KEY": r"(?i)aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}",
    "GITHUB_TOKEN": r"\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{30,}\b",
    "SLACK_TOKEN": r"\bxox[baprs]-[A-Za-z0-9-]{10,}|\bxapp-[0-9]-[A-Za-z0-9-]{10,}",
    "JWT": r"\beyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*",
    "BEARER_TOKEN": r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{8,}=*",
    "PRIVATE_KEY": r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----",
    # Coarse by design (no capitalisation or vocabulary rules): a house number next to a
    # street word, number first (English, French), last (German, Dutch) or after the street
    # type (Spanish, Italian).
    "STREET_ADDRESS": (
        r"\b[0-9]{1,5}[A-Za-z]?,?[ ]+(?:[A-Za-z0-9'.-]+[ ]+){0,3}(?i:street|st|avenue|ave"
        r"|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|parkway|pkwy|square"
        r"|terrace|way)\b"
        r"|\b[0-9]{1,5}(?:[ ]?(?:bis|ter))?,?[ ]+(?i:rue|avenue|boulevard|bd|place|impasse"
        r"|chemin|quai|allée)[ ]+[^ ,]+"
        r"|[A-ZÄÖÜ][a-zäöüß-]+(?:straße|strasse|str\.|gasse|weg|allee|platz|straat|laan"
        r"|gracht|plein)[ ]*[0-9]{1,4}\b"
        r"|(?:Calle|Avenida|Plaza|Paseo|Via|Viale|Piazza|Corso)[ ]+[A-Z][A-Za-z']*"
        r"(?:[ ]+[A-Za-z']+){0,3},?[ ]*[0-9]{1,4}\b"
    ),
    "SECRET": (
        r"(?i)(?:password|passwd|passphrase|pwd|secret|api[_-]?key|access[_-]?token"
        r"|client[_-]?secret)[\"']?\s*[:=]\s*[\"']?[^\s\"',;]+"
    ),
}


def redaction_allowed_keys() -> list[str]:
    """Every attribute key infertel's conventions name, sorted: the ``allowed_keys`` list."""
    keys: set[str] = set(c.SAFE_ATTRIBUTE_KEYS) | set(c.EXPORTED_METRIC_ATTRIBUTES)
    for name, value in vars(c).items():
        if (not name.isupper() or name in _NOT_ATTRIBUTES
                or name.startswith(_NOT_ATTRIBUTE_PREFIXES) or not isinstance(value, str)):
            continue
        # Prefixes ("ml.input.") name families, not keys; values without a dot are not keys.
        if "." in value and not value.endswith("."):
            keys.add(value)
    return sorted(keys)


def metric_attribute_keys() -> list[str]:
    """The only data-point attributes a metric may keep, sorted (``keep_keys``)."""
    return sorted(c.EXPORTED_METRIC_ATTRIBUTES)


def blocked_values() -> list[str]:
    """The ``blocked_values`` list, in :data:`BLOCKED_VALUE_PATTERNS` order."""
    return list(BLOCKED_VALUE_PATTERNS.values())


def yaml_lines() -> dict[str, list[str]]:
    """The GENERATED YAML lines, by the key they follow (indented as in the config files)."""
    quoted = {entity: pattern.replace("'", "''")  # YAML single quotes: backslashes are literal
              for entity, pattern in BLOCKED_VALUE_PATTERNS.items()}
    return {
        "allowed_keys:": [f"      - {key}" for key in redaction_allowed_keys()],
        "blocked_values:": [f"      - '{pattern}'  # {entity}"
                            for entity, pattern in quoted.items()],
        "keep_keys": [f"          - keep_keys(attributes, {json.dumps(metric_attribute_keys())})"],
    }


def rewrite(text: str) -> str:
    """``text`` (a config file) with its GENERATED lists replaced by :func:`yaml_lines`."""
    generated = yaml_lines()
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped in ("allowed_keys:", "blocked_values:"):
            out.append(line)
            out.extend(generated[stripped])
            index += 1
            while index < len(lines) and lines[index].lstrip().startswith("- "):
                index += 1
            continue
        if stripped.startswith("- keep_keys(attributes,"):
            out.extend(generated["keep_keys"])
        else:
            out.append(line)
        index += 1
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Print the generated lists, or with ``--write FILE...`` rewrite them in those files."""
    import sys
    from pathlib import Path

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--write"]:
        for name in args[1:]:
            path = Path(name)
            path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
            print(f"rewrote {path}")
        return
    for key, lines in yaml_lines().items():
        print(key)
        print("\n".join(lines))


if __name__ == "__main__":
    main()
