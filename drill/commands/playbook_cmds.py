"""`drill playbook ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Playbook commands.", no_args_is_help=True)
