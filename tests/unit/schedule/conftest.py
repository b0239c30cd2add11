"""Fixtures live in the uniquely named support module beside this file; tests import helpers from it.

A module named conftest cannot be imported safely when several test folders have one.
"""

from schedule_support import *  # noqa: F403
