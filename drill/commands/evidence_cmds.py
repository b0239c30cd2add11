"""Evidence commands: `drill verify`, `drill report`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the evidence commands to the root app."""
