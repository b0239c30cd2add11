"""`drill schedule ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Schedule commands.", no_args_is_help=True)
