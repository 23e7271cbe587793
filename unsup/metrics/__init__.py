"""Metrics computed on held-out data."""
