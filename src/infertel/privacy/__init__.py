"""Privacy: PII and secret detection / redaction for telemetry payloads.

``PiiDetector`` finds e-mail addresses, phone numbers, card numbers, SSNs, IP addresses,
IBANs, credential-bearing URLs and secrets (cloud keys, tokens, private keys, password
assignments) with gated regex scans plus validators, and optionally PERSON / LOCATION
with spaCy NER. Importing this package imports neither Presidio nor spaCy.
"""

from infertel.privacy._detector import CustomRecognizer, Finding, PiiDetector

__all__ = ["CustomRecognizer", "Finding", "PiiDetector"]
