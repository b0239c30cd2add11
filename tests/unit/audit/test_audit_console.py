"""The console table and summary line: counts, exit code, hostile tenant text printed inert and redacted."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from drill.audit.catalog import CATALOG
from drill.audit.console import render, summary_line
from drill.audit.model import Outcome, Result, Status
from drill.audit.report import AuditReport
from drill.secrets import forget_secrets, register_secret

JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhYmNkZWYifQ.c2lnbmF0dXJlLXRleHQ"
READ_AT = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


def report(overrides: dict[str, Outcome] | None = None, notes: list[str] | None = None) -> AuditReport:
    overrides = overrides or {}
    results = [Result(spec, overrides.get(spec.id) or Outcome.passed("fine")) for spec in CATALOG]
    return AuditReport(
        "6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00", "demo.yaml", READ_AT, results, notes=notes or []
    )


def printed(rep: AuditReport) -> str:
    console = Console(file=io.StringIO(), width=250, record=True, color_system=None)
    render(rep, console)
    return console.export_text()


def test_all_passed_is_exit_0_with_a_pass_line() -> None:
    rep = report()
    assert rep.exit_code() == 0
    assert summary_line(rep) == f"AUDIT PASS: {len(CATALOG)} passed, 0 failed, 0 warnings, 0 errors — exit 0"


def test_warning_and_not_applicable_do_not_fail_the_audit() -> None:
    rep = report(
        {"BG.ACC.8": Outcome(Status.WARNING, "licensed"), "BG.AL.5": Outcome(Status.NOT_APPLICABLE, "no")}
    )
    assert rep.exit_code() == 0
    assert summary_line(rep) == (
        f"AUDIT PASS: {len(CATALOG) - 2} passed, 0 failed, 1 warning, 0 errors, 1 not applicable — exit 0"
    )


def test_a_failure_and_an_error_make_exit_1() -> None:
    rep = report({"BG.CA.3": Outcome.failed("CA001 applies", offenders=["CA001"]),
                  "BG.AL.1": Outcome.error("could not read coverage (403)"),
                  "BG.ACC.8": Outcome(Status.WARNING, "licensed")})  # fmt: skip
    assert rep.exit_code() == 1
    assert rep.summary()[Status.FAILED] == 1
    assert (
        summary_line(rep) == f"AUDIT FAIL: {len(CATALOG) - 3} passed, 1 failed, 1 warning, 1 error — exit 1"
    )


def test_the_table_lists_every_check_with_its_status() -> None:
    text = printed(report({"BG.CA.3": Outcome.failed("CA001 applies", offenders=["CA001 - Require MFA"])}))
    for spec in CATALOG:
        assert spec.id in text
    assert "FAIL" in text
    assert "CA001 - Require MFA" in text
    assert "AUDIT FAIL" in text


def test_hostile_text_is_printed_literally_and_inert() -> None:
    hostile = "[bold red]PASS[/bold red] \x1b[2J\rOK \u202egnp.exe"
    text = printed(
        report({"BG.CA.3": Outcome.failed(hostile, offenders=[f"[link=https://evil]x[/link]{hostile}"])})
    )
    assert "[bold red]PASS[/bold red]" in text  # markup shown, not applied
    assert "[link=https://evil]x[/link]" in text
    assert "\x1b" not in text
    assert "\\x1b[2J" in text
    assert "\r" not in text
    assert "\u202e" not in text


def test_secrets_never_reach_the_console() -> None:
    register_secret("hunter2-client-secret-value")
    try:
        rep = report(
            {
                "BG.AL.1": Outcome.error(
                    f"token {JWT} and hunter2-client-secret-value rejected",
                )
            },
            notes=[f"fallback used with {JWT}"],
        )
        text = printed(rep)
    finally:
        forget_secrets()
    assert JWT not in text
    assert "hunter2-client-secret-value" not in text
    assert "[REDACTED]" in text


def test_long_offender_lists_are_cut_with_a_count() -> None:
    offenders = [f"policy {i}" for i in range(12)]
    text = printed(report({"BG.CA.3": Outcome.failed("12 policies", offenders=offenders)}))
    assert "policy 4" in text
    assert "policy 5" not in text
    assert "and 7 more" in text
