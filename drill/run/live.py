"""`drill run` and `drill preflight` against a real tenant: hardware key, console prompts, the operator.

On a Microsoft cloud only a hardware key answers (software keys are refused before any prompt), the PIN
is registered for redaction the moment it is typed (`ConsolePrompts`), and every line printed here is
redacted: a verdict reason can quote a service's error text.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import typer

from drill.browser.sweep import LOG_PREFIX
from drill.fidelity import PACK_FILE, recording


def _echo(line: str) -> None:
    from drill.secrets import redact_text

    typer.echo(redact_text(line))


def _context(playbook_path: Path, account: str | None) -> Any:
    from drill.clouds import cloud_for
    from drill.keys.inventory import (
        SOFTWARE_DIR_ENV,
        is_builtin_cloud,
        open_account_authenticator,
        refuse_software_keys,
    )
    from drill.keys.key_path import choose_key_path
    from drill.keys.prompts import ConsolePrompts
    from drill.playbook import load_playbook
    from drill.progress import Progress
    from drill.steps.context import DrillContext

    pb = load_playbook(playbook_path)
    acct = pb.account(account) if account else pb.accounts[0]
    cloud = cloud_for(pb)
    # Rehearsals with software keys on the workstation: custom clouds only.
    software = Path(os.environ[SOFTWARE_DIR_ENV]) if os.environ.get(SOFTWARE_DIR_ENV) else None
    refuse_software_keys(cloud, software)
    hardware_only = is_builtin_cloud(cloud)
    path = choose_key_path(software=software)

    def open_key() -> Any:
        return open_account_authenticator(
            acct,
            ConsolePrompts(),
            cloud.webauthn_related_origins,
            software=software,
            hardware_only=hardware_only,
            path=path,
        )

    return DrillContext(
        playbook=pb, account=acct, cloud=cloud, open_key=open_key, progress=Progress(), key_path=path
    )


def run_live(
    playbook: Path,
    account: str,
    *,
    operator: str | None,
    witness: str | None,
    output: Path | None,
    fidelity_pack: Path | None = None,
) -> int:
    from drill.evidence.bundle import writer_for
    from drill.evidence.card import card_check
    from drill.evidence.filing import filers_for
    from drill.logs import configure_logging
    from drill.run.file_evidence import chain, filing_after_verdict
    from drill.run.loop import execute, summary_printer

    ctx = _context(playbook, account)  # user errors (software key on a Microsoft cloud) before any prompt
    log_path = Path(tempfile.mkdtemp(prefix=LOG_PREFIX)) / "log.jsonl"
    configure_logging(log_path, console=False)
    if operator is None:
        operator = typer.prompt("Operator name (as written in the playbook's authorised_people)")
    pb = ctx.playbook
    writer = writer_for(
        output or pb.output_dir,
        pb.signing_key_path(),
        log_path=log_path,
    )

    done = chain(
        summary_printer(writer),
        filing_after_verdict(
            writer,
            lambda: filers_for(pb, ctx.cloud),
            lambda bundle: f"drill file {bundle} --playbook {playbook}",
        ),
    )
    try:
        with recording(fidelity_pack):
            code = execute(
                ctx,
                writer,
                operator_name=operator,
                witness=witness,
                on_done=done,
                confirm=lambda _record: post_drill_confirmations(
                    operator, ctx.account.storage_location, card_check(pb, ctx.account.name, playbook)
                ),
            )
        say_pack(fidelity_pack)
        return code
    finally:
        shutil.rmtree(log_path.parent, ignore_errors=True)  # its redacted copy is in the bundle


def _ask(question: str, _secret: bool) -> str | None:
    """One console question; None when the operator gives no answer (Ctrl-D, Ctrl-C)."""
    import click

    try:
        return str(typer.prompt(question, default="", show_default=False))
    except (click.exceptions.Abort, EOFError, KeyboardInterrupt):
        return None


def post_drill_confirmations(
    operator: str | None, storage_location: str | None, card: Any | None = None
) -> list[Any]:
    """Asked at the end of `drill run`, before the bundle is signed: the key resealed, the PIN envelope,
    and the version code on the emergency card kept with the key (`card`: a drill.evidence.card.CardCheck)."""
    from drill.evidence.controls import confirm

    typer.echo("Before the evidence is signed: confirm where the key and its PIN are now.", err=True)
    return confirm(_ask, operator, storage_location, card)


def say_pack(folder: Path | None) -> None:
    if folder is not None:
        typer.echo(
            f"fidelity pack: {folder / PACK_FILE} (shapes only; `drill sim compare-pack {folder}`"
            " compares it with the simulator, and it can be attached to a bug report)",
            err=True,
        )


def run_preflight(playbook: Path, account: str | None, *, fidelity_pack: Path | None = None) -> int:
    """Exit 0 when every preflight check passed, 1 otherwise; prints each check."""
    from drill.evidence.model import Status
    from drill.secrets import forget_secrets
    from drill.steps import preflight

    ctx = _context(playbook, account)
    if account is None and len(ctx.playbook.accounts) > 1:
        typer.echo("(no --account: the key check is skipped)", err=True)
    try:
        with recording(fidelity_pack):
            result = asyncio.run(preflight.run(ctx, with_key=account is not None, every_feature=True))
        say_pack(fidelity_pack)
        for check in result.checks:
            if check.status is Status.NOT_OBSERVABLE:
                by = check.replaced_by
                later = f"; the drill proves it after the ceremony ({by})" if by else ""
                _echo(f"NOT OBSERVABLE {check.title}: {check.reason}{later}")
            else:
                _echo(f"{check.status.value.upper():7} {check.title}: {check.reason}")
        for finding in ctx.findings:
            _echo(f"NOTE    {finding.title}: {finding.detail}")
        # Not observable before the ceremony is not a failure of preflight: the drill's later check decides.
        failed = [
            c for c in result.checks if c.required and c.status not in (Status.PASS, Status.NOT_OBSERVABLE)
        ]
        # The failing checks' reasons are printed just above: the last line counts them, once.
        summary = f"{len(failed)} check(s) failed, first: {failed[0].title}" if failed else result.reason
        _echo(f"preflight {result.status.value.upper()}: {summary}")
    finally:
        forget_secrets()
    return 0 if result.status.value == "pass" else 1
