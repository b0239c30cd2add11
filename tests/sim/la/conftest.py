"""Fixtures live in la_support (and tests/sim/conftest.py); see tests/sim/identity/conftest.py for why."""
