"""`drill init DIR`: start a tenant's playbook from the commented example."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Attach `drill init` to the root app."""

    @app.command()
    def init(
        folder: Path = typer.Argument(..., help="Folder for the playbook (made if missing)."),
        force: bool = typer.Option(False, "--force", help="Overwrite the example's files if there."),
    ) -> None:
        """Write the commented example playbook and its query file into FOLDER."""
        from drill.playbook.example import write_example

        written = write_example(folder, force=force)
        for path in written:
            typer.echo(f"wrote {path}")
        playbook = written[0]
        typer.echo(f"next: put your tenant's ids in {playbook} (each placeholder left is a warning)")
        typer.echo(f"then: drill playbook check {playbook}")
