"""Exporter wiring: OTLP, the local OTLP-JSON store, console, none."""
