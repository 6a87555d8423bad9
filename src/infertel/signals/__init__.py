"""Signal builders: turn hand-off records into spans, metric updates and log records."""
