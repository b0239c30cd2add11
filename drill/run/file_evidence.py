"""Filing after the verdict, and `drill file BUNDLE` later: one code path, loud about every failure.

The verdict is final before any of this runs (the bundle is signed and in the ledger), so nothing here can
change it or the drill's exit code. Each success appends a signed receipt line; each failure appends a
signed `filing-failed` line (so an auditor sees that filing was attempted and why it did not happen) and
prints a FILING FAILED block with the command that retries it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from drill.evidence import ledger
from drill.evidence.filing import Filer, FilingResult, file_bundle
from drill.evidence.signing import Signer
from drill.secrets import redact_text

KIND_FILING_FAILED = "filing-failed"


def _echo(line: str, err: bool = False) -> None:
    """Redacted, and control characters shown as escapes: targets and reasons quote service text."""
    from drill.evidence._sanitize import clean_text

    typer.echo(clean_text(redact_text(line)), err=err)


def file_and_report(
    bundle: Path, filers: list[Filer], signer: Signer, ledger_path: Path, retry_hint: str
) -> list[FilingResult]:
    """File `bundle` to every target, print each outcome, record failures in the ledger."""
    results = file_bundle(bundle, filers, signer, ledger_path)
    for result in results:
        if result.ok:
            _echo(f"filed: {result.target} -> {result.detail}")
            continue
        reason = redact_text(result.detail.removeprefix(f"{result.target}: "))[:500]
        _echo("!" * 72, err=True)
        _echo(f"FILING FAILED: {result.target}", err=True)
        _echo(f"  why: {reason}", err=True)
        _echo("  the verdict stands; the evidence is safe in the primary bundle", err=True)
        _echo(f"  retry: {retry_hint}", err=True)
        _echo("!" * 72, err=True)
        if not result.attempted:
            continue  # not this workstation's verified bundle: nothing of it goes into our ledger
        try:
            ledger.append(
                ledger_path,
                {
                    "kind": KIND_FILING_FAILED,
                    "drill_id": bundle.name,
                    "destination": result.target,
                    "reason": reason,
                },
                signer,
            )
        except Exception as exc:  # noqa: BLE001 (the failure is already on screen; say the record failed too)
            _echo(f"  and recording this failure in {ledger_path} failed: {exc}", err=True)
    if any(r.attempted for r in results):  # the filing lines moved the head: the hash to record now
        _echo(f"ledger head after filing: {ledger.head_of(ledger_path)}")
    return results


def filing_after_verdict(
    writer: Any, filers: Callable[[], list[Filer]], retry_hint: Callable[[Path], str]
) -> Callable[[Any], None]:
    """An `on_done` that files the finished bundle (run while the drill's secrets are still registered)."""

    def run(_record: Any) -> None:
        done = writer.finished
        if done is None:
            return
        try:
            targets = filers()
        except Exception as exc:  # noqa: BLE001 (a bad filing config must not hide the verdict)
            _echo(f"FILING FAILED: cannot set up filing: {exc}", err=True)
            return
        if targets:
            file_and_report(done.path, targets, writer.signer, writer.ledger_path, retry_hint(done.path))

    return run


def chain(*steps: Callable[[Any], None]) -> Callable[[Any], None]:
    """Several `on_done` callbacks in order."""

    def run(record: Any) -> None:
        for step in steps:
            step(record)

    return run


def file_later(bundle: Path, playbook_path: Path, filers: list[Filer] | None = None) -> int:
    """`drill file BUNDLE`: file (again) to every target of the playbook; 0 when every copy is in place.

    Idempotent: a target that already holds this bundle's manifest counts as done (a receipt says so).
    The bundle must be signed by the key this playbook signs with and be in the ledger beside it.
    """
    from drill.errors import DrillUserError
    from drill.evidence import manifest
    from drill.evidence.filing import filers_for
    from drill.playbook import load_playbook
    from drill.secrets import forget_secrets

    bundle = bundle.resolve()
    if not (bundle / manifest.MANIFEST).is_file() or not (bundle / manifest.SIGNATURE).is_file():
        raise DrillUserError(
            f"{bundle}: not a finished bundle (no signed manifest); give a drill's evidence folder, "
            "e.g. reports/drill-20261125-060000-ea01"
        )
    book = bundle.parent / ledger.LEDGER_NAME
    if not book.is_file():
        raise DrillUserError(f"{book}: missing; `drill file` files only bundles recorded in their ledger")
    pb = load_playbook(playbook_path)
    try:
        if filers is None:
            from drill.clouds import cloud_for

            filers = filers_for(pb, cloud_for(pb))
        if not filers:
            raise DrillUserError(f"{playbook_path}: evidence.filing is empty; nothing to file to")
        signer = Signer.load(key_path=pb.signing_key_path())
        results = file_and_report(
            bundle, filers, signer, book, f"drill file {bundle} --playbook {playbook_path}"
        )
    finally:
        forget_secrets()
    return 0 if all(r.ok for r in results) else 1


def read_back_sharepoint(drill_id: str, playbook_path: Path, into: Path) -> tuple[Path, str]:
    """Download a bundle filed to the playbook's SharePoint target into `into/<drill_id>` (for verify).

    Returns the copy and the target's description (receipts name it). Secrets are forgotten by the caller.
    """
    from drill.clouds import cloud_for
    from drill.errors import DrillUserError
    from drill.evidence.filing import FilingError, SharePointFiler, filers_for
    from drill.playbook import load_playbook

    pb = load_playbook(playbook_path)
    targets = [f for f in filers_for(pb, cloud_for(pb)) if isinstance(f, SharePointFiler)]
    if not targets:
        raise DrillUserError(f"{playbook_path}: evidence.filing has no sharepoint target to read back from")
    try:
        return targets[0].read_back(drill_id, into), targets[0].describe()
    except ValueError as exc:
        raise DrillUserError(f"--sharepoint {drill_id!r}: {exc}") from exc
    except FilingError as exc:
        raise DrillUserError(str(exc)) from exc
