"""Configuration models and their resolution: argument > environment > default.

Environment variables are ``INFERTEL_*`` plus the standard ``OTEL_*`` ones where a standard one
exists (``OTEL_SERVICE_NAME``, ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_PROTOCOL``,
``OTEL_{TRACES,LOGS,METRICS}_EXPORTER``, ``OTEL_SDK_DISABLED``). The OTLP headers, compression
and TLS variables are read by ``infertel.export`` as OpenTelemetry documents them.

Every problem is found here, once, at ``configure()``: a bad value raises
:class:`~infertel.errors.ConfigurationError` naming the argument or variable; an argument that
overrides a contradicting environment variable warns with
:class:`~infertel.errors.ConfigurationWarning`; ``local_dir=`` in code while an OTLP endpoint is
set in the environment (and no exporter is named anywhere) raises, because either guess sends
the data somewhere one of the two parties does not expect.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from infertel._types import Action, ExporterName, OtlpProtocol, Ring
from infertel.errors import ConfigurationError, ConfigurationTypeError, ConfigurationWarning

__all__ = ["DEFAULT_LOCAL_DIR", "SIGNALS", "Action", "ExporterName", "OtlpProtocol", "Ring",
           "Settings", "check_settings", "resolve_settings"]

DEFAULT_LOCAL_DIR = "infertel-data"
SIGNALS: Final = ("traces", "logs", "metrics")
ENDPOINT_VARS: Final = ("OTEL_EXPORTER_OTLP_ENDPOINT", "INFERTEL_OTLP_ENDPOINT")


def _env(*names: str) -> Any:
    return AliasChoices(*names)


def _signal_exporter_field(signal: str) -> Any:
    upper = signal.upper()
    return Field(None, validation_alias=_env(f"{signal}_exporter", f"INFERTEL_{upper}_EXPORTER",
                                             f"OTEL_{upper}_EXPORTER"))


class Settings(BaseSettings):
    """Resolved settings for one :class:`~infertel.Telemetry`."""

    model_config = SettingsConfigDict(
        env_prefix="INFERTEL_", case_sensitive=False, extra="forbid", populate_by_name=True
    )

    service_name: str = Field(
        "infertel-service",
        min_length=1,
        validation_alias=_env("service_name", "INFERTEL_SERVICE_NAME", "OTEL_SERVICE_NAME"),
    )
    service_version: str | None = None
    environment: str | None = None
    # The exporter of every signal that does not name its own (below).
    exporter: ExporterName | None = None
    traces_exporter: ExporterName | None = _signal_exporter_field("traces")
    logs_exporter: ExporterName | None = _signal_exporter_field("logs")
    metrics_exporter: ExporterName | None = _signal_exporter_field("metrics")
    local_dir: Path = Path(DEFAULT_LOCAL_DIR)
    # The local store starts a new file once the current one passes this size.
    local_max_bytes: int = Field(64 * 1024 * 1024, ge=4096)
    otlp_endpoint: str | None = Field(
        None, validation_alias=_env("otlp_endpoint", *ENDPOINT_VARS),
    )
    otlp_protocol: OtlpProtocol = Field(
        "http/protobuf",
        validation_alias=_env("otlp_protocol", "INFERTEL_OTLP_PROTOCOL",
                              "OTEL_EXPORTER_OTLP_PROTOCOL"),
    )
    # Seconds one export attempt may take before it is abandoned.
    export_timeout_s: float = Field(5.0, gt=0, le=300)
    # Durable spool for OTLP exports that fail (opt-in): folder and size bound (payload bytes).
    spool_dir: Path | None = None
    spool_max_bytes: int = Field(256 * 1024 * 1024, ge=64 * 1024)
    queue_size: int = Field(10_000, ge=1, le=10_000_000)
    metric_interval_s: float = Field(10.0, gt=0)
    # The ring of decorated functions that do not name one: lets one build move between
    # stable and canary by configuration.
    ring: Ring = "stable"
    enabled: bool = True
    sdk_disabled: bool = Field(
        False, validation_alias=_env("sdk_disabled", "OTEL_SDK_DISABLED")
    )
    # Off in production: SDK-internal errors are counted and swallowed. Tests turn it on.
    raise_internal_errors: bool = False
    _endpoint_from_argument: bool = PrivateAttr(default=False)

    @field_validator("exporter", "traces_exporter", "logs_exporter", "metrics_exporter",
                     mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        # OTEL_TRACES_EXPORTER=OTLP is common in deployment files; the names are lowercase.
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _choose_exporters(self) -> Settings:
        if self.exporter is None:
            self.exporter = "otlp" if self.otlp_endpoint or _signal_endpoint_set() else "local"
        for signal in SIGNALS:
            if getattr(self, f"{signal}_exporter") is None:
                setattr(self, f"{signal}_exporter", self.exporter)
        if self.sdk_disabled:
            self.enabled = False
        return self

    @property
    def exporter_name(self) -> ExporterName:
        """The general exporter choice; a signal may differ (see :meth:`signal_exporter`)."""
        assert self.exporter is not None  # set by the validator
        return self.exporter

    def signal_exporter(self, signal: str) -> ExporterName:
        """The exporter of ``signal`` (``traces``, ``logs`` or ``metrics``)."""
        name: ExporterName | None = getattr(self, f"{signal}_exporter")
        assert name is not None  # set by the validator
        return name

    @property
    def otlp_endpoint_from_argument(self) -> bool:
        """True when ``otlp_endpoint`` was given in code: it then beats the per-signal
        ``OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`` variables too (argument > environment)."""
        return self._endpoint_from_argument

    def uses(self, exporter: ExporterName) -> bool:
        """True when at least one signal goes to ``exporter``."""
        return any(self.signal_exporter(signal) == exporter for signal in SIGNALS)


def _signal_endpoint_set(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return any(environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
               for signal in SIGNALS)


def _endpoint_in_environment(environ: Mapping[str, str]) -> str | None:
    """The name of the variable that sets an OTLP endpoint, if any."""
    for name in (*ENDPOINT_VARS, *(f"OTEL_EXPORTER_OTLP_{s.upper()}_ENDPOINT" for s in SIGNALS)):
        if environ.get(name):
            return name
    return None


def _exporter_variables(field: str) -> tuple[str, ...]:
    if field == "exporter":
        return ("INFERTEL_EXPORTER",)
    signal = field.removesuffix("_exporter").upper()
    return (f"INFERTEL_{signal}_EXPORTER", f"OTEL_{signal}_EXPORTER")


def _set_variable(names: tuple[str, ...], environ: Mapping[str, str]) -> tuple[str, str] | None:
    for name in names:
        value = environ.get(name)
        if value:
            return name, value.strip().lower()
    return None


def _contradiction(argument: str, value: Any, variable: str, effect: str,
                   stacklevel: int = 5) -> None:
    warnings.warn(
        f"infertel: the argument {argument}={value!r} overrides the environment variable "
        f"{variable} ({effect}); pass the same value or unset the variable to silence this",
        ConfigurationWarning, stacklevel=stacklevel)


def _resolve_exporters(given: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Apply argument > environment to the exporter choice, reporting contradictions."""
    exporter_args = [f for f in ("exporter", *(f"{s}_exporter" for s in SIGNALS)) if f in given]
    exporter_env = [v for f in ("exporter", *(f"{s}_exporter" for s in SIGNALS))
                    for v in _exporter_variables(f) if environ.get(v)]
    endpoint_var = _endpoint_in_environment(environ)
    if "local_dir" in given and not exporter_args and not exporter_env:
        if endpoint_var is not None:
            raise ConfigurationError(
                "local_dir",
                f"given in code while {endpoint_var} is set and no exporter is named: it is not "
                "clear whether telemetry should go to the local store or to the collector; pass "
                "exporter='local' or exporter='otlp' (or OTEL_TRACES_EXPORTER etc.)")
        given["exporter"] = "local"  # a store folder given in code is a request for the store
        return
    general = given.get("exporter")
    if general is not None:
        # The general argument beats the per-signal variables: argument > environment.
        for signal in SIGNALS:
            field = f"{signal}_exporter"
            if field not in given:
                given[field] = general
                variable = _set_variable(_exporter_variables(field), environ)
                if variable is not None and variable[1] != str(general).lower():
                    _contradiction("exporter", general, variable[0],
                                   f"which asks for {variable[1]!r}")
    for field in exporter_args:
        variable = _set_variable(_exporter_variables(field), environ)
        if variable is None and field != "exporter":
            variable = _set_variable(_exporter_variables("exporter"), environ)
        if variable is not None and variable[1] != str(given[field]).lower():
            _contradiction(field, given[field], variable[0], f"which asks for {variable[1]!r}")
    chosen = [given.get(f"{s}_exporter") for s in SIGNALS]
    if general is not None and endpoint_var and "otlp" not in chosen:
        _contradiction("exporter", general, endpoint_var, "its collector endpoint is not used")


def resolve_settings(**arguments: Any) -> Settings:
    """Build settings from keyword arguments (None means "not given") over the environment.

    Pure: reads the environment, touches no file (see :func:`check_settings`).
    """
    environ = os.environ
    given = {key: value for key, value in arguments.items() if value is not None}
    _resolve_exporters(given, environ)
    endpoint = given.get("otlp_endpoint")
    if endpoint is not None:
        names = (*ENDPOINT_VARS, *(f"OTEL_EXPORTER_OTLP_{s.upper()}_ENDPOINT" for s in SIGNALS))
        variable = next((name for name in names if environ.get(name)), None)
        if variable is not None and environ[variable] != endpoint:
            _contradiction("otlp_endpoint", "<url>", variable, "a different collector",
                           stacklevel=4)
    try:
        settings = Settings(**given)
    except ValidationError as error:
        raise _configuration_error(error, given, environ) from None
    settings._endpoint_from_argument = endpoint is not None
    _check_endpoints(settings, "otlp_endpoint" in given, environ)
    if "local_dir" in given and settings.enabled and not settings.uses("local"):
        warnings.warn("infertel: local_dir has no effect: the environment sends every signal "
                      "elsewhere (INFERTEL_EXPORTER / OTEL_*_EXPORTER)", ConfigurationWarning,
                      stacklevel=3)
    return settings


def _configuration_error(error: ValidationError, given: Mapping[str, Any],
                         environ: Mapping[str, str]) -> ConfigurationError:
    """The first problem, named as the user wrote it (argument or variable), value left out."""
    problems = error.errors(include_input=False, include_url=False)
    first = problems[0]
    field = str(first["loc"][0]) if first["loc"] else "configuration"
    name = f"argument {field}=" if field in given else _variable_of(field, environ)
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    kind = ConfigurationTypeError if first["type"].endswith("_type") else ConfigurationError
    return kind(name, f"{first['msg']}{more}")


def _variable_of(field: str, environ: Mapping[str, str]) -> str:
    settings_field = Settings.model_fields.get(field)
    names: list[str] = [f"INFERTEL_{field.upper()}"]
    alias = settings_field.validation_alias if settings_field is not None else None
    if isinstance(alias, AliasChoices):
        names = [str(choice) for choice in alias.choices if str(choice).isupper()] or names
    for name in names:
        if name in environ:
            return f"environment variable {name}"
    return f"environment variable {names[0]}"


def _check_endpoints(settings: Settings, from_argument: bool,
                     environ: Mapping[str, str]) -> None:
    """Endpoints are URLs with an http(s) scheme and a host: found now, not at every export."""
    if not settings.enabled:
        return
    if settings.otlp_endpoint is not None and settings.uses("otlp"):
        name = "argument otlp_endpoint=" if from_argument else _variable_of("otlp_endpoint",
                                                                           environ)
        check_url(settings.otlp_endpoint, name)
    for signal in SIGNALS:
        variable = f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"
        value = environ.get(variable)
        if value and settings.signal_exporter(signal) == "otlp":
            check_url(value, f"environment variable {variable}")


def check_url(url: str, name: str) -> None:
    """Raise ConfigurationError (naming ``name``) unless ``url`` is an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        raise ConfigurationError(name, "not a URL (bad port or brackets)") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigurationError(
            name, "must be an http:// or https:// URL such as http://localhost:4318 "
                  f"(scheme found: {parts.scheme or 'none'})")
    if not parts.hostname or any(ch.isspace() for ch in url.strip()):
        raise ConfigurationError(name, "must name a host, e.g. http://collector:4318")
    del port


def check_settings(settings: Settings) -> None:
    """The checks that touch the file system, run by ``configure()``: folders exist (created
    if missing) and are writable; settings that would have no effect are reported."""
    if not settings.enabled:
        return
    if settings.uses("local"):
        check_directory(settings.local_dir, "local_dir")
    if settings.spool_dir is not None:
        if not settings.uses("otlp"):
            warnings.warn("infertel: spool_dir has no effect: no signal is exported over OTLP",
                          ConfigurationWarning, stacklevel=3)
        else:
            check_directory(settings.spool_dir, "spool_dir")


def check_directory(path: Path, name: str) -> None:
    """Create ``path`` if needed and prove it writable with a probe file (root ignores mode
    bits, so ``os.access`` would say yes to a read-only mount)."""
    if path.exists() and not path.is_dir():
        raise ConfigurationError(name, "exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".infertel-probe-", dir=path)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise ConfigurationError(
            name, f"is not a writable directory ({type(error).__name__}, errno "
                  f"{error.errno})") from None
