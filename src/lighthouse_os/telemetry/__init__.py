"""Telemetry: ingestion, validation, dead letters and the time-series store."""
