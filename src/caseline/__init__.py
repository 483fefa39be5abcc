"""Caseline: person records resolved into profiles, accountably, on synthetic data with truth."""

__version__ = "0.1.0"
