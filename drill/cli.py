"""The `drill` command line: parses, calls, renders.

Only typer is imported here; every command imports what it needs when it runs, so `drill --help` and
`drill --version` stay fast and never load msgraph-sdk, playwright or duckdb.
"""

from __future__ import annotations

import sys

import typer

from drill import __version__
from drill.commands import (
    audit_cmds,
    card_cmds,
    drill_cmds,
    evidence_cmds,
    init_cmds,
    keys_cmds,
    playbook_cmds,
    review_cmds,
    schedule_cmds,
    setup_cmds,
    sim_cmds,
)
from drill.errors import DrillUserError

app = typer.Typer(
    name="drill",
    help="Prove that a Microsoft Entra break-glass account still works and is still watched.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"breakglass-drill {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Prove that a Microsoft Entra break-glass account still works and is still watched."""


app.add_typer(playbook_cmds.app, name="playbook")
app.add_typer(keys_cmds.app, name="keys")
app.add_typer(sim_cmds.app, name="sim")
app.add_typer(schedule_cmds.app, name="schedule")
app.add_typer(setup_cmds.app, name="setup")
drill_cmds.register(app)
audit_cmds.register(app)
card_cmds.register(app)
evidence_cmds.register(app)
review_cmds.register(app)
init_cmds.register(app)


def main() -> None:
    """Console entry point: user mistakes become one clear line and exit 2, never a traceback."""
    try:
        app()
    except DrillUserError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
