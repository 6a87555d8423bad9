"""Layer 3: the background pipeline — the worker, Telemetry wiring and its lifecycle."""
