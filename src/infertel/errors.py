"""Errors infertel raises into user code — only at set-up time, never during a call."""

from __future__ import annotations


class ConfigurationError(ValueError):
    """A ``configure()`` argument or environment variable is invalid; the message names it.

    A ``ValueError``, as pydantic's ``ValidationError`` is, so code that caught the latter keeps
    working. ``name`` is the argument (``local_dir``) or variable (``OTEL_EXPORTER_OTLP_ENDPOINT``)
    at fault. The message never repeats the value itself: endpoints and headers can hold
    credentials.
    """

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


class ConfigurationTypeError(ConfigurationError, TypeError):
    """An argument of the wrong type; also a ``TypeError`` (what it was before infertel 0.2)."""


class ConfigurationWarning(UserWarning):
    """A configuration that works but probably not as intended: an argument overrides a
    contradicting environment variable, or a setting has no effect."""
