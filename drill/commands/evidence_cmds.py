"""Evidence commands: `drill verify` (bundle or ledger) and `drill report` (JUnit, Markdown)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

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


def _worse(a: int, b: int) -> int:
    """INVALID (1) outranks INCOMPLETE (3), which outranks VALID (0)."""
    rank = {0: 0, 3: 1, 1: 2}
    return a if rank[a] >= rank[b] else b


def _is_reports_dir(path: Path) -> bool:
    return path.is_dir() and not (path / "manifest.json").exists() and (path / "ledger.jsonl").is_file()


def _verify_all(folder: Path, trusted: set[str] | None) -> int:
    """`drill verify reports/`: every bundle and the ledger; the worst outcome sets the exit code."""
    from drill.evidence.verify import verify_reports_dir

    results, book = verify_reports_dir(folder, trusted=trusted)
    code = 0
    for result in results:
        for problem in result.problems:
            typer.echo(f"{result.status}: {_where(result.path, problem)}")
        if result.status == "VALID":
            typer.echo(f"VALID: {result.path} (verdict {result.verdict})")
        code = _worse(code, EXIT[result.status])
    if book is not None:
        for problem in book.problems:
            typer.echo(f"INVALID: {problem}")
        if book.ok:
            typer.echo(f"VALID: {book.path}: {len(book.entries)} line(s), head {book.head}")
        else:
            code = 1
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
            typer.Option("--trust", help="Accept only signatures by this key fingerprint (SHA256:...)."),
        ] = None,
    ) -> None:
        """Recompute hashes, check signatures and the ledger chain. Exit 0 valid, 1 invalid, 3 incomplete."""
        from drill.errors import DrillUserError
        from drill.evidence.verify import verify_bundle, verify_ledger

        if bundle is None and ledger is None:
            raise DrillUserError("drill verify: give a bundle folder, or --ledger PATH")
        trusted = set(trust) if trust else None
        code = 0
        if bundle is not None and ledger is None and _is_reports_dir(bundle):
            raise typer.Exit(_verify_all(bundle, trusted))
        if bundle is not None:
            result = verify_bundle(bundle, trusted=trusted, ledger_path=ledger)
            for problem in result.problems:
                typer.echo(f"{result.status}: {_where(bundle, problem)}")
            for note in result.notes:
                typer.echo(f"note: {note}")
            if result.status == "VALID":
                typer.echo(f"VALID: {bundle} (verdict {result.verdict}; signed by {result.fingerprint})")
            code = EXIT[result.status]
        if ledger is not None:
            report = verify_ledger(ledger, trusted=trusted)
            for problem in report.problems:
                typer.echo(f"INVALID: {problem}")
            if report.ok:
                signers = ", ".join(sorted(report.fingerprints)) or "none"
                typer.echo(
                    f"VALID: {ledger}: {len(report.entries)} line(s), head {report.head}, signer {signers}"
                )
            elif code == 0:
                code = 1
        raise typer.Exit(code)

    @app.command()
    def report(
        bundle: Annotated[Path, typer.Argument(help="A drill's evidence folder.")],
        fmt: Annotated[
            ReportFormat, typer.Option("--format", help="junit or markdown.")
        ] = ReportFormat.markdown,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here, not stdout.")] = None,
        trust: Annotated[
            list[str] | None,
            typer.Option("--trust", help="Accept only signatures by this key fingerprint (SHA256:...)."),
        ] = None,
    ) -> None:
        """Verify a bundle, then render it as JUnit XML (CI dashboards) or Markdown (tickets).

        A bundle that does not verify renders as INCOMPLETE with the reason. Exit 0 valid, 1 invalid,
        3 incomplete (the same codes as drill verify).
        """
        from drill.errors import DrillUserError
        from drill.evidence import junit, markdown
        from drill.evidence._sanitize import clean_text
        from drill.evidence.gate import reportable

        if not bundle.is_dir():
            raise DrillUserError(
                f"{bundle}: not a drill evidence folder (give the folder named after the drill id)"
            )
        shown = reportable(bundle, trusted=set(trust) if trust else None)
        for problem in shown.problems:
            typer.echo(clean_text(f"{shown.status}: {_where(bundle, problem)}"), err=True)
        render = junit.render if fmt is ReportFormat.junit else markdown.render
        text = render(shown.record, attestation=shown.attestation)
        if output is None:
            typer.echo(text, nl=False)
        else:
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise DrillUserError(
                    f"{output}: cannot write the report ({exc.strerror}); choose another -o path"
                ) from exc
        raise typer.Exit(EXIT[shown.status])
