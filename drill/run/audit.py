"""`drill audit PLAYBOOK` (and the demo's audit): read, judge, sign the bundle, print, exit 0 or 1.

The Maester JSON and the JUnit XML are written inside the signed bundle first, then copied where the
operator asked (owner-only, as the bundle): a copy an auditor receives can always be checked against the
bundle's manifest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from drill.audit.run import AuditRun, FactReader
    from drill.evidence.audit_bundle import PdfRenderer
    from drill.evidence.signing import Signer
    from drill.playbook import Playbook

MAESTER_FILE = "maester.json"
JUNIT_FILE = "junit.xml"


def _echo(line: str) -> None:
    from drill.secrets import redact_text

    typer.echo(redact_text(line))


def execute_audit(
    playbook: Playbook,
    readers: list[FactReader],
    reports_dir: Path,
    signer: Signer,
    *,
    pdf: PdfRenderer | None,
    maester: Path | None = None,
    junit: Path | None = None,
    print_table: Callable[[Any], None] | None = None,
) -> AuditRun:
    """Run one audit into `reports_dir` (bundle + ledger line) and copy the outputs asked for."""
    from drill.audit import console
    from drill.audit import junit as junit_out
    from drill.audit import maester as maester_out
    from drill.audit.run import audit, write
    from drill.evidence.ledger import LEDGER_NAME

    ledger_path = reports_dir / LEDGER_NAME
    run = audit(playbook, readers, ledger_path=ledger_path, pinned={signer.fingerprint})
    report = run.report
    domain = str(playbook.tenant.primary_domain)
    write(
        run,
        reports_dir,
        signer,
        pdf=pdf,
        ledger_path=ledger_path,
        extra_files=lambda _record: {
            MAESTER_FILE: maester_out.render(report, tenant_name=domain).encode(),
            JUNIT_FILE: junit_out.render(report).encode(),
        },
    )
    (print_table or console.render)(report)
    assert run.finished is not None
    for wanted, name in ((maester, MAESTER_FILE), (junit, JUNIT_FILE)):
        if wanted is not None:
            export(run.finished.path / name, wanted)
    return run


def export(signed: Path, wanted: Path) -> None:
    """Copy one signed output where the operator asked, owner-only like the bundle (0600, new folders
    0700): it names the break-glass accounts and the CA design."""
    from drill.errors import DrillUserError
    from drill.fsutil import atomic_write, private_mkdir

    try:
        private_mkdir(wanted.parent)
        atomic_write(wanted, signed.read_bytes())
    except OSError as exc:
        raise DrillUserError(
            f"{wanted}: cannot write the copy of {signed.name} ({exc.strerror or exc}); the signed original "
            f"is {signed}"
        ) from exc


def run_audit_command(
    playbook_path: Path, *, output: Path | None, maester: Path | None, junit: Path | None, pdf: bool
) -> int:
    from drill.audit.run import default_readers
    from drill.auth import observer_credential
    from drill.clouds import cloud_for
    from drill.evidence.pdf import render_pdf
    from drill.evidence.signing import Signer
    from drill.playbook import load_playbook
    from drill.secrets import forget_secrets

    pb = load_playbook(playbook_path)  # a user mistake: file:line:col, exit 2, before anything is read
    cloud = cloud_for(pb)
    signer = Signer.load(key_path=pb.signing_key_path())
    try:
        run = execute_audit(
            pb,
            default_readers(observer_credential(pb, cloud), cloud),
            output or pb.output_dir,
            signer,
            pdf=render_pdf if pdf else None,
            maester=maester,
            junit=junit,
        )
    finally:
        forget_secrets()
    say_where(run)
    return run.exit_code


def say_where(run: AuditRun) -> None:
    done = run.finished
    assert done is not None
    _echo(f"evidence: {done.path} (signed by {done.fingerprint}; pdf {done.pdf_status})")
    _echo(f"ledger head: {done.ledger_head}  (record it; `drill verify {done.path}` checks the bundle)")
