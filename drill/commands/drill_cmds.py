"""Top-level drill commands: `drill run`, `drill demo`, `drill preflight`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the drill commands to the root app."""

    @app.command()
    def demo() -> None:
        """Run the demo drill against the embedded simulated tenant."""
        typer.echo("drill demo: not yet: the drill itself lands with issue 5 (set-up is complete).")
