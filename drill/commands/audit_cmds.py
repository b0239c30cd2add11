"""`drill audit PLAYBOOK`: the keyless posture audit of the whole break-glass design."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Attach `drill audit` to the root app."""

    @app.command()
    def audit(
        playbook: Path = typer.Argument(..., help="The tenant's playbook (YAML)."),
        output: Path | None = typer.Option(
            None, help="Evidence folder; default: the playbook's evidence.output_dir."
        ),
        maester: Path | None = typer.Option(
            None, "--maester", help="Also write the Maester-format JSON results to this file."
        ),
        junit: Path | None = typer.Option(None, "--junit", help="Also write JUnit XML to this file."),
        pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Render report.pdf in the bundle."),
    ) -> None:
        """Audit the recommended break-glass design without a key; exit 0 all passed, 1 any failure."""
        from drill.run.audit import run_audit_command

        raise typer.Exit(run_audit_command(playbook, output=output, maester=maester, junit=junit, pdf=pdf))
