"""Caseline: resolve person records into profiles, accountably, on synthetic data with ground truth."""

__version__ = "0.1.0"
