"""Lighthouse OS: an open platform for responsible industrial transformation."""

__version__ = "0.1.0"
