"""Errors infertel raises into user code — only at set-up time, never during a call."""

from __future__ import annotations


class ConfigurationError(ValueError):
    """A ``configure()`` argument or environment variable is invalid; the message names it."""
