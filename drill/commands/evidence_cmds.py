"""Evidence commands: `drill verify` (bundle or ledger) and `drill report` (JUnit, Markdown)."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from drill.evidence.ledger import LedgerReport
    from drill.evidence.verify import BundleResult

EXIT = {"VALID": 0, "INVALID": 1, "INCOMPLETE": 3}


class ReportFormat(StrEnum):
    junit = "junit"
    markdown = "markdown"


def _where(bundle: Path, problem: str) -> str:
    """Problems name files relative to the bundle; show them as paths the operator can open."""
    head = problem.split(":", 1)[0]
    if (
        head.startswith("/")
        or head.startswith(str(bundle))
        or head.endswith(".partial")
        or head == bundle.name
    ):
        return problem
    return f"{bundle / head}:{problem.split(':', 1)[1]}" if ":" in problem else problem


UNPINNED_EXIT = 4  # everything verified, but against keys the evidence itself carries: no trust anchor
_HEAD = re.compile(r"[0-9a-fA-F]{64}")


def _worse(a: int, b: int) -> int:
    """INVALID (1) outranks INCOMPLETE (3), which outranks VALID (0)."""
    rank = {0: 0, 3: 1, 1: 2}
    return a if rank[a] >= rank[b] else b


def _say(text: str) -> None:
    """Every line `drill verify` prints: file names, drill ids and ledger fields are attacker-writable, so
    control characters are shown as escapes (a `\\r` in a folder name must not rewrite an INVALID line)."""
    from drill.evidence._sanitize import clean_text

    typer.echo(clean_text(text))


def _is_reports_dir(path: Path) -> bool:
    """An evidence folder (bundles and a ledger), not one bundle; also when its ledger was deleted."""
    from drill.evidence.ledger import LEDGER_NAME
    from drill.evidence.manifest import MANIFEST, REPORT_JSON

    if not path.is_dir() or (path / MANIFEST).exists():
        return False
    if (path / LEDGER_NAME).is_file():
        return True
    return any(p.is_dir() and ((p / MANIFEST).exists() or (p / REPORT_JSON).exists()) for p in path.iterdir())


def _verify_all(folder: Path, trusted: set[str] | None, expect_head: str | None, signers: set[str]) -> int:
    """`drill verify reports/`: every bundle and the ledger; the worst outcome sets the exit code."""
    from drill.evidence.verify import verify_reports_dir

    results, book = verify_reports_dir(folder, trusted=trusted, expect_head=expect_head)
    code = 0
    for result in results:
        for problem in result.problems:
            _say(f"{result.status}: {_where(result.path, problem)}")
        for note in result.notes:
            _say(f"note: {note}")
        signed = f"signed by {result.fingerprint}" if result.fingerprint else "no signer"
        _say(f"{result.status}: {result.path} (verdict {result.verdict}; {signed})")
        if result.fingerprint:
            signers.add(result.fingerprint)
        code = _worse(code, EXIT[result.status])
    if book is not None:
        code = _worse(code, _ledger_lines(book, book.path, signers))
    return code


def _ledger_lines(report: LedgerReport, path: Path, signers: set[str]) -> int:
    """Print what the ledger check found; 1 if it failed, else 0."""
    for problem in report.problems:
        _say(f"INVALID: {problem}")
    for note in report.notes:
        _say(f"note: {note}")
    signers.update(report.fingerprints)
    if not report.ok:
        return 1
    who = ", ".join(sorted(report.fingerprints)) or "none"
    _say(f"VALID: {path}: {len(report.entries)} line(s), head {report.head}, signer {who}")
    return 0


def _unpinned(signers: set[str], *, err: bool = False) -> None:
    """No --trust: the signatures only prove the files match a key they carry themselves (on stderr when
    stdout is the report itself)."""
    from drill.evidence._sanitize import clean_text

    seen = ", ".join(sorted(signers)) or "none"
    typer.echo(
        clean_text(
            "UNPINNED: no trust anchor (--trust): the signatures were checked against the keys the evidence "
            f"carries ({seen}), so anyone could have made them. Pin the signer you expect: "
            "--trust SHA256:... (the fingerprint printed at the end of each drill)"
        ),
        err=err,
    )


def _receipt(copy: Path, ledger: Path, trusted: set[str] | None, destination: str | None) -> int:
    """A filed copy needs its filing receipt in the ledger: the same drill and manifest hash, and either
    the SharePoint target it was read back from (`destination`) or, for a folder copy, this very place.

    A receipt names where that copy was put, so a copy moved or copied anywhere else has none of its own;
    when a key is pinned, only a receipt that key signed counts.
    """
    from drill.evidence.filing import receipts
    from drill.evidence.ledger import signed_by
    from drill.fsutil import sha256_file

    digest = sha256_file(copy / "manifest.json")
    here = str(copy.resolve())
    named = {here, str(copy.absolute())}  # receipts written before they were resolved name the path as given
    for line in receipts(ledger, copy.name):
        if line.get("manifest_sha256") != digest or (trusted is not None and not signed_by(line, trusted)):
            continue
        if destination is None and line.get("location") not in named:
            continue
        if destination is not None and line.get("destination") != destination:
            continue
        _say(f"receipt: {ledger} line {line.get('seq')} ({line.get('destination')}: {line.get('location')})")
        return 0
    where = f"from {destination}" if destination is not None else f"at {here}"
    _say(f"INVALID: {ledger}: no filing receipt for drill {copy.name} with this manifest {where}")
    return 1


def _write_report(text: str, output: Path | None) -> None:
    """stdout, or an owner-only file (0600, new folders 0700): the report names the break-glass accounts."""
    from drill.errors import DrillUserError
    from drill.fsutil import atomic_write, private_mkdir

    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        private_mkdir(output.parent)
        atomic_write(output, text.encode("utf-8"))
    except OSError as exc:
        raise DrillUserError(
            f"{output}: cannot write the report ({exc.strerror or exc}); choose another -o path"
        ) from exc


def _audit_report(
    bundle: Path, fmt: ReportFormat, checked: BundleResult, attestation: str, unpinned: bool
) -> str | None:
    """A VALID posture-audit bundle already holds its JUnit (junit.xml, in the signed manifest): that file,
    with the attestation added (who signed it, pinned or not). Markdown is a drill's ticket format; an
    audit's human report is report.html / report.pdf."""
    from drill.errors import DrillUserError
    from drill.evidence.junit import attest

    if checked.audit is None or checked.status != "VALID":
        return None  # a drill, or anything that does not verify: the drill path reports it fail-closed
    if fmt is not ReportFormat.junit:
        raise DrillUserError(
            f"{bundle}: a posture-audit bundle: use --format junit, or read its report.html / report.pdf"
        )
    if not (bundle / "junit.xml").is_file():  # verified: a file absent here is absent from the manifest
        raise DrillUserError(f"{bundle}: this audit bundle holds no junit.xml; read its report.html")
    try:
        return attest((bundle / "junit.xml").read_bytes(), attestation, unpinned=unpinned)
    except ValueError as exc:
        raise DrillUserError(f"{bundle / 'junit.xml'}: not JUnit XML this tool writes ({exc})") from exc


def _verify_paths(
    bundle: Path | None,
    ledger: Path | None,
    trust: list[str] | None,
    expect_head: str | None,
    filed_to: str | None,
) -> int:
    """`drill verify`'s exit code for a bundle, a reports folder and/or a ledger; `filed_to` names the
    SharePoint target a read-back copy came from (its receipt must name that target)."""
    from drill.errors import DrillUserError
    from drill.evidence.signing import parse_trust
    from drill.evidence.verify import verify_bundle, verify_ledger

    trusted = {parse_trust(t) for t in trust} if trust else None
    whole = bundle is not None and ledger is None and _is_reports_dir(bundle)
    if expect_head is not None:
        if not _HEAD.fullmatch(expect_head.strip()):
            raise DrillUserError(
                f"--expect-head {expect_head!r}: not a head hash (64 hex digits, as a drill prints it)"
            )
        if ledger is None and not whole:
            raise DrillUserError(
                "--expect-head checks a ledger: add --ledger PATH, or give the evidence folder"
            )
    signers: set[str] = set()
    code = 0
    if whole:
        assert bundle is not None
        code = _verify_all(bundle, trusted, expect_head, signers)
    elif bundle is not None:
        result = verify_bundle(bundle, trusted=trusted, ledger_path=ledger)
        for problem in result.problems:
            _say(f"{result.status}: {_where(bundle, problem)}")
        for note in result.notes:
            _say(f"note: {note}")
        if result.status == "VALID":
            _say(f"VALID: {bundle} (verdict {result.verdict}; signed by {result.fingerprint})")
        if result.fingerprint:
            signers.add(result.fingerprint)
        code = EXIT[result.status]
        if (
            ledger is not None
            and result.status == "VALID"
            and bundle.resolve().parent != ledger.resolve().parent
        ):
            code = _worse(code, _receipt(bundle, ledger, trusted, filed_to))
    if ledger is not None:
        report = verify_ledger(ledger, trusted=trusted, expect_head=expect_head)
        code = _worse(code, _ledger_lines(report, ledger, signers))
    if trusted is None:
        _unpinned(signers)
        if code == 0:
            code = UNPINNED_EXIT
    return code


def register(app: typer.Typer) -> None:
    """Attach the evidence commands to the root app."""

    @app.command()
    def verify(
        bundle: Annotated[
            Path | None, typer.Argument(help="A drill's evidence folder, or the whole evidence directory.")
        ] = None,
        ledger: Annotated[
            Path | None,
            typer.Option("--ledger", help="Verify this ledger.jsonl (with or instead of a bundle)."),
        ] = None,
        trust: Annotated[
            list[str] | None,
            typer.Option(
                "--trust",
                help="Accept only signatures by this key: its fingerprint (SHA256:...) or its PEM file.",
            ),
        ] = None,
        expect_head: Annotated[
            str | None,
            typer.Option(
                "--expect-head",
                help="A ledger head hash recorded earlier: fail if the ledger no longer holds that line.",
            ),
        ] = None,
        sharepoint: Annotated[
            str | None,
            typer.Option(
                "--sharepoint",
                help="A drill id filed to SharePoint: read that copy back through Graph and verify it "
                "(with --playbook and --ledger).",
            ),
        ] = None,
        playbook: Annotated[
            Path | None, typer.Option("--playbook", help="With --sharepoint: the playbook naming the site.")
        ] = None,
    ) -> None:
        """Recompute hashes, check signatures and the ledger chain.

        Exit 0 valid, 1 invalid, 3 incomplete, 4 valid but unpinned (no --trust: no trust anchor).
        """
        from drill.errors import DrillUserError

        if sharepoint is not None:
            if bundle is not None or playbook is None or ledger is None:
                raise DrillUserError(
                    "drill verify --sharepoint DRILL_ID needs --playbook PATH and --ledger PATH (the ledger "
                    "holding the drill and its filing receipt), and no bundle folder"
                )
            _verify_sharepoint(sharepoint, playbook, ledger, trust, expect_head)
        if bundle is None and ledger is None:
            raise DrillUserError("drill verify: give a bundle folder, or --ledger PATH")
        raise typer.Exit(_verify_paths(bundle, ledger, trust, expect_head, None))

    def _verify_sharepoint(
        drill_id: str, playbook: Path, ledger: Path, trust: list[str] | None, expect_head: str | None
    ) -> None:
        import tempfile

        from drill.run.file_evidence import read_back_sharepoint
        from drill.secrets import forget_secrets

        try:
            with tempfile.TemporaryDirectory(prefix="drill-verify-") as tmp:
                copy, destination = read_back_sharepoint(drill_id, playbook, Path(tmp))
                _say(f"read back {drill_id} from {destination}")
                code = _verify_paths(copy, ledger, trust, expect_head, destination)
        finally:
            forget_secrets()
        raise typer.Exit(code)

    @app.command("file")
    def file_(
        bundle: Annotated[Path, typer.Argument(help="A finished drill's evidence folder.")],
        playbook: Annotated[
            Path, typer.Option("--playbook", "-p", help="The playbook naming the targets (evidence.filing).")
        ],
    ) -> None:
        """File a bundle to the playbook's filing targets (again): idempotent, never overwrites.

        Exit 0 when every target holds a verified copy (receipts appended to the ledger), 1 otherwise.
        """
        from drill.run.file_evidence import file_later

        raise typer.Exit(file_later(bundle, playbook))

    @app.command()
    def report(
        bundle: Annotated[Path, typer.Argument(help="A drill's evidence folder.")],
        fmt: Annotated[
            ReportFormat, typer.Option("--format", help="junit or markdown.")
        ] = ReportFormat.markdown,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here, not stdout.")] = None,
        trust: Annotated[
            list[str] | None,
            typer.Option(
                "--trust", help="Accept only signatures by this key: fingerprint (SHA256:...) or PEM path."
            ),
        ] = None,
    ) -> None:
        """Verify a bundle, then render it as JUnit XML (CI dashboards) or Markdown (tickets).

        A bundle that does not verify renders as INCOMPLETE with the reason. Exit 0 valid, 1 invalid,
        3 incomplete, 4 valid but unpinned (no --trust: JUnit then holds a failing "signer pinned" case).
        """
        from drill.errors import DrillUserError
        from drill.evidence import junit, markdown
        from drill.evidence._sanitize import clean_text
        from drill.evidence.gate import attestation, reportable
        from drill.evidence.signing import parse_trust
        from drill.evidence.verify import verify_bundle

        if not bundle.is_dir():
            raise DrillUserError(
                f"{bundle}: not a drill evidence folder (give the folder named after the drill id)"
            )
        trusted = {parse_trust(t) for t in trust} if trust else None
        checked = verify_bundle(bundle, trusted=trusted)
        audit = _audit_report(bundle, fmt, checked, attestation(checked, trusted), trusted is None)
        if audit is not None:
            _write_report(audit, output)
            code = 0
        else:
            shown = reportable(bundle, trusted=trusted, result=checked)
            for problem in shown.problems:
                typer.echo(clean_text(f"{shown.status}: {_where(bundle, problem)}"), err=True)
            if fmt is ReportFormat.junit:
                text = junit.render(shown.record, attestation=shown.attestation, unpinned=shown.unpinned)
            else:
                text = markdown.render(shown.record, attestation=shown.attestation)
            _write_report(text, output)
            code = EXIT[shown.status]
        if trusted is None and code == 0:
            _unpinned({checked.fingerprint} if checked.fingerprint else set(), err=True)
            code = UNPINNED_EXIT
        raise typer.Exit(code)
