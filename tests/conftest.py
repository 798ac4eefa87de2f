"""Shared pytest configuration."""

import os

import matplotlib

# Tests never open windows.
matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
