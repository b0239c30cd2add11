"""`drill card PLAYBOOK --account NAME`: print the emergency card kept with the account's key."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Attach `drill card` to the root app."""

    @app.command()
    def card(
        playbook: Path = typer.Argument(..., help="The tenant's playbook (YAML)."),
        account: str = typer.Option(..., "--account", help="The break-glass account whose card to print."),
        out: Path = typer.Option(Path("cards"), "--out", help="Folder for the card's HTML and PDF."),
        pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also print the card to PDF (Chromium)."),
    ) -> None:
        """Write the account's one-page emergency card (HTML and PDF): no PIN, no secret, a version code."""
        from datetime import UTC, datetime

        from drill.evidence.card_print import write_card
        from drill.evidence.pdf import render_pdf
        from drill.playbook import load_playbook
        from drill.text import clean_text

        pb = load_playbook(playbook)
        printed = write_card(pb, account, out, datetime.now(UTC).date(), render_pdf if pdf else None)
        typer.echo(f"card version {printed.card.code} for {clean_text(printed.card.upn)}")
        typer.echo(f"html: {printed.html}")
        if printed.pdf is not None:
            typer.echo(f"pdf: {printed.pdf}")
        typer.echo(
            "Print it, put it in the storage location with the key and the sealed PIN envelope "
            f"({clean_text(printed.card.storage_location)}), and destroy the previous card; "
            "the next drill asks for this version code."
        )
