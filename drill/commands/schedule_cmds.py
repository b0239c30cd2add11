"""`drill schedule run` and `drill schedule status`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from drill.errors import DrillUserError
from drill.isotime import parse_utc

app = typer.Typer(
    help="Keep every break-glass account drilled on time: reminders, daily keyless checks, status.",
    no_args_is_help=True,
)


def _as_of(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        return parse_utc(value)
    except ValueError:
        raise DrillUserError(
            f"--as-of {value!r}: not a date or time; write it like 2026-06-30 or 2026-06-30T09:00Z"
        ) from None


@app.command("run")
def run(
    playbooks: list[Path] = typer.Argument(..., help="The tenants' playbooks (YAML)."),
    state: Path | None = typer.Option(
        None,
        "--state",
        help="Scheduler state folder (job store, sent reminders); default: $DRILL_STATE_DIR/schedule.",
    ),
    ledger: Path | None = typer.Option(
        None, "--ledger", help="Ledger to read and append to; default: each playbook's evidence.output_dir."
    ),
    mail: bool = typer.Option(
        True, "--mail/--no-mail", help="Also mail reminders through Graph as the observer."
    ),
    once: bool = typer.Option(
        False, "--once", help="Run one reminder check and one keyless check, then exit."
    ),
) -> None:
    """Run the scheduler: reminders before each due date, escalation when overdue, daily keyless checks.

    It never signs in as a break-glass account: a drill needs the operator and the key (`drill run`).
    """
    from drill.logs import configure_logging
    from drill.schedule.service import build_runtime, serve

    configure_logging(None, console=True)
    raise typer.Exit(serve(build_runtime(playbooks, state, ledger, mail=mail), once=once))


@app.command("status")
def status(
    playbooks: list[Path] = typer.Argument(..., help="The tenants' playbooks (YAML)."),
    ledger: Path | None = typer.Option(
        None, "--ledger", help="Ledger to read; default: each playbook's evidence.output_dir/ledger.jsonl."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Show the status at this UTC date/time (planning)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the rows as JSON instead of a table."),
    state: Path | None = typer.Option(
        None,
        "--state",
        help="The scheduler's state folder, for its watch record (tables covered, last ledger head); "
        "default: $DRILL_STATE_DIR/schedule.",
    ),
) -> None:
    """One row per account: last drill, verdict, next due, days left or overdue, last keyless check.

    Above the table: unreviewed unplanned uses, which tables the unplanned-use watch covered, and a ledger
    rolled back past the line the scheduler last wrote.
    """
    import json

    from rich.console import Console

    from drill.playbook import load_playbook
    from drill.schedule.status import as_dicts, collect, render

    now = _as_of(as_of)
    blocks = collect([load_playbook(p) for p in playbooks], ledger, now, state)
    if json_out:
        typer.echo(json.dumps(as_dicts(blocks), indent=2))
        return
    console = Console()
    for item in render(blocks, now):
        console.print(item)
