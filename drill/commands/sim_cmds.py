"""`drill sim ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Sim commands.", no_args_is_help=True)
