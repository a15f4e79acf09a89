"""Anomalizer Desktop: find the odd loops in a sample library."""

__version__ = "0.1.0"
