"""Errors that are the user's to fix: the CLI prints them as one line and exits 2, never a traceback."""

from __future__ import annotations


class DrillUserError(Exception):
    """A mistake in input the operator controls (playbook, arguments, environment).

    The message is complete as it stands: where (file:line:col when known), what is wrong, how to fix it.
    """

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
