"""`drill review`: record the post-use review of one unplanned use of a break-glass account.

Microsoft's emergency-access guidance asks that every use be reviewed: a planned drill, an actual emergency,
or misuse. The scheduler's watch ledgers each use nobody planned; this command closes it with a signed
review line (the same evidence key and ledger append as every other line), after which
`drill schedule status` no longer shows it.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import typer


class Classification(StrEnum):
    planned_drill = "planned-drill"
    emergency = "emergency"
    misuse = "misuse"


def register(app: typer.Typer) -> None:
    """Attach `drill review` to the root app."""

    @app.command()
    def review(
        use_id: str = typer.Argument(
            ..., help="The unplanned use's id (from the notice or `drill schedule status`)."
        ),
        classification: Classification = typer.Option(
            ..., "--classification", help="What the use was: planned-drill, emergency or misuse."
        ),
        notes: str = typer.Option(..., "--notes", help="What happened and what was checked."),
        playbook: Path = typer.Option(..., "--playbook", help="The tenant's playbook (YAML)."),
        ledger: Path | None = typer.Option(
            None,
            "--ledger",
            help="Ledger to append to; default: the playbook's evidence.output_dir/ledger.jsonl.",
        ),
        reviewer: str | None = typer.Option(
            None, "--reviewer", help="Who reviewed it; default: the OS user."
        ),
    ) -> None:
        """Record the review of an unplanned use as a signed ledger line."""
        from drill.evidence.signing import Signer
        from drill.playbook import load_playbook
        from drill.schedule.status import ledger_path_for
        from drill.schedule.watch import record_review

        pb = load_playbook(playbook)
        path = ledger_path_for(pb, ledger)
        signer = Signer.load(key_path=pb.signing_key_path())
        line = record_review(
            path,
            str(pb.tenant.id),
            use_id.strip(),
            classification.value,
            notes,
            reviewer or getpass.getuser(),
            signer,
            datetime.now(UTC),
        )
        typer.echo(
            f"review of {use_id} recorded as {classification.value} (ledger line {line['seq']} of {path})"
        )
