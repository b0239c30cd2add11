"""`drill run` and `drill preflight` against a real tenant: hardware key, console prompts, the operator."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import typer


def _context(playbook_path: Path, account: str | None) -> Any:
    from drill.clouds import cloud_for
    from drill.keys.inventory import open_account_authenticator
    from drill.keys.prompts import ConsolePrompts
    from drill.playbook import load_playbook
    from drill.progress import Progress
    from drill.steps.context import DrillContext

    pb = load_playbook(playbook_path)
    acct = pb.account(account) if account else pb.accounts[0]
    cloud = cloud_for(pb)
    software = os.environ.get("DRILL_SOFTWARE_KEYS")  # rehearsals with software keys on the workstation

    def open_key() -> Any:
        return open_account_authenticator(
            acct,
            ConsolePrompts(),
            cloud.webauthn_related_origins,
            software=Path(software) if software else None,
        )

    return DrillContext(playbook=pb, account=acct, cloud=cloud, open_key=open_key, progress=Progress())


def run_live(
    playbook: Path, account: str, *, operator: str | None, witness: str | None, output: Path | None
) -> int:
    from drill.evidence.bundle import writer_for
    from drill.logs import configure_logging
    from drill.run.loop import execute

    log_path = Path(tempfile.mkdtemp(prefix="drill-log-")) / "log.jsonl"
    configure_logging(log_path, console=False)
    ctx = _context(playbook, account)
    if operator is None:
        operator = typer.prompt("Operator name (for the record)")
    pb = ctx.playbook
    writer = writer_for(
        output or pb.output_dir,
        pb.resolve(pb.evidence.signing_key) if pb.evidence.signing_key else None,
        log_path=log_path,
    )
    code = execute(ctx, writer, operator_name=operator, witness=witness)
    shutil.rmtree(log_path.parent, ignore_errors=True)  # its redacted copy is in the bundle
    if writer.finished is not None:
        for line in writer.finished.summary():
            typer.echo(line)
    return code


def run_preflight(playbook: Path, account: str | None) -> int:
    """Exit 0 when every preflight check passed, 1 otherwise; prints each check."""
    from drill.steps import preflight

    ctx = _context(playbook, account)
    if account is None and len(ctx.playbook.accounts) > 1:
        typer.echo("(no --account: the key check is skipped)", err=True)
    result = asyncio.run(preflight.run(ctx, with_key=account is not None))
    for check in result.checks:
        typer.echo(f"{check.status.value.upper():7} {check.title}: {check.reason}")
    typer.echo(f"preflight {result.status.value.upper()}: {result.reason}")
    return 0 if result.status.value == "pass" else 1
