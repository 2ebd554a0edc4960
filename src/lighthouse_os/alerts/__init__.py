"""Alerts: rule engine, streaming anomaly detectors, alert lifecycle and backtesting."""
