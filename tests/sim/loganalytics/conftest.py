"""Fixtures live in loganalytics_support and tests/sim/conftest.py (see tests/sim/identity/conftest.py)."""
