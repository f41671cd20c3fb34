"""Kenning: private, self-hosted recognition for personal media libraries."""

__version__ = "0.1.0"
