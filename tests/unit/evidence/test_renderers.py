"""HTML report layout, Markdown and JUnit renderers, history page, filing, and the CLI around them."""

from __future__ import annotations

import re
import stat
import xml.etree.ElementTree as ET  # our own output, not untrusted input
from pathlib import Path

from evidence_support import WriteBundle, _png
from records_support import failing, healthy
from typer.testing import CliRunner

from drill.cli import app
from drill.errors import DrillUserError
from drill.evidence import junit, ledger, markdown
from drill.evidence.bundle import BundleWriter
from drill.evidence.filing import FolderFiler, file_bundle, receipts
from drill.evidence.html import render_report
from drill.evidence.signing import Signer
from drill.evidence.verify import verify_bundle


def test_report_reads_verdict_then_timeline_then_checks() -> None:
    html = render_report(failing("late_alert"))
    verdict = html.index('id="verdict"')
    svg = html.index('<svg id="timeline"')
    checks = html.index("Steps and checks")
    assert verdict < svg < checks
    assert re.search(r'<div class="word">FAIL</div>\s*<div class="why">alert: no alert within 1800 s', html)
    # the late alert is drawn red, the SLA deadlines dashed
    assert 'fill="#cf222e"' in html
    assert html.count('stroke-dasharray="3,2"') == 3
    for label in ("Sign-in started", "Log row ingested", "Alert received", "Time to alert email"):
        assert label in html
    assert "NO</td>" in html  # time to alert beyond its SLA
    assert not re.search(r"(src|href)=\"?(https?:|//)", html)  # loads nothing
    assert "SECRETCODE" not in html  # renderers redact whoever calls them


def test_report_without_timings_says_so() -> None:
    rec = failing("crashed")
    rec.timings = rec.timings.model_copy(update={"signin_started_at": None, "signin_completed_at": None})
    rec.steps = [s for s in rec.steps if s.step != "signin"]  # preflight stopped it: no sign-in attempted
    html = render_report(rec)
    assert '<svg id="timeline"' not in html
    assert "Nothing was timed" in html


def test_playbook_sla_names_and_signin_step_times_feed_the_timeline() -> None:
    rec = failing("late_alert")
    rec.sla = {"signin": 300.0, "log_row": 1800.0, "alert": 1800.0, "cleanup": 300.0}
    rec.timings = rec.timings.model_copy(
        update={"signin_started_at": None, "signin_completed_at": None, "signin_s": None}
    )
    html = render_report(rec)
    assert html.count('stroke-dasharray="3,2"') == 3  # sign-in, log row, alert deadlines
    assert "Sign-in completed" in html  # taken from the sign-in step's own times
    assert "(deadline 5 min 0 s)" in html  # the cleanup step's deadline beside its duration


def test_markdown_neutralises_tenant_strings() -> None:
    rec = healthy()
    rec.account_upn = "evil`](javascript:alert(1))\n# heading|x"
    text = markdown.render(rec)
    assert text.startswith("## Break-glass drill: **PASS**")
    assert "`evil'](javascript:alert(1)) # heading/x`" in text
    assert "\n# heading" not in text
    assert "| Time to alert email | 406.0 | 1800 |" in text


def test_junit_counts_and_escapes() -> None:
    rec = failing("ga_eligible")
    rec.steps[3].checks[0].reason = 'eligible <only> & "time-bound"'
    root = ET.fromstring(junit.render(rec))  # noqa: S314
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "1"
    assert suite.get("skipped") == "0"
    failure = suite.find("testcase[@name='ga_active_permanent']/failure")
    assert failure is not None
    assert failure.get("message") == 'eligible <only> & "time-bound"'
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "FAIL"


def test_cli_report_formats(write_bundle: WriteBundle, tmp_path: Path) -> None:
    bundle = write_bundle(failing("no_row", "drill-cli"))
    pin = ["--trust", bundle.fingerprint]
    out = CliRunner().invoke(app, ["report", str(bundle.path), "--format", "junit", *pin])
    assert out.exit_code == 0
    parsed = ET.fromstring(out.output.split("\n", 1)[1])  # noqa: S314
    assert parsed.tag == "testsuites"
    target = tmp_path / "ticket.md"
    out = CliRunner().invoke(
        app, ["report", str(bundle.path), "--format", "markdown", "-o", str(target), *pin]
    )
    assert out.exit_code == 0
    assert "**FAIL**" in target.read_text()
    (bundle.path / "report.json").write_bytes((bundle.path / "report.json").read_bytes() + b" ")
    out = CliRunner().invoke(app, ["report", str(bundle.path)])
    assert out.exit_code == 1
    assert "report.json" in out.output


def test_cli_verify_reports_valid_and_needs_an_argument(write_bundle: WriteBundle) -> None:
    bundle = write_bundle(healthy("drill-ok"))
    pin = ["--trust", bundle.fingerprint]
    out = CliRunner().invoke(app, ["verify", str(bundle.path), "--ledger", str(bundle.ledger_path), *pin])
    assert out.exit_code == 0, out.output
    assert f"VALID: {bundle.path} (verdict PASS; signed by {bundle.fingerprint})" in out.output
    assert "1 line(s)" in out.output
    # without a pin it is VALID only against the key it carries: exit 4 (it used to be a plain 0)
    out = CliRunner().invoke(app, ["verify", str(bundle.path), "--ledger", str(bundle.ledger_path)])
    assert out.exit_code == 4, out.output
    assert "UNPINNED" in out.output
    out = CliRunner().invoke(app, ["verify", str(bundle.path), "--trust", Signer.generate().fingerprint])
    assert out.exit_code == 1
    missing = CliRunner().invoke(app, ["verify"])  # main() turns this into one line and exit 2
    assert isinstance(missing.exception, DrillUserError)


def test_history_page_lists_the_accounts_drills(write_bundle: WriteBundle, tmp_path: Path) -> None:
    write_bundle(healthy("drill-h1"))
    last = write_bundle(failing("late_alert", "drill-h2"))
    write_bundle(healthy("drill-other", account="bg-secondary"))
    page = last.history_page
    assert page is not None
    html = page.read_text()
    assert "drill-h1" in html
    assert "drill-h2" in html
    assert "drill-other" not in html
    assert html.count("<polyline") == 4  # one line per latency, two drills each


def test_folder_filing_copies_verifies_receipts_and_is_idempotent(
    write_bundle: WriteBundle, tmp_path: Path, signer: Signer, reports: Path
) -> None:
    bundle = write_bundle(healthy("drill-file"))
    share = tmp_path / "share"
    book = reports / "ledger.jsonl"
    [result] = file_bundle(bundle.path, [FolderFiler(share)], signer, book)
    assert result.ok, result.detail
    copy = share / "drill-file"
    assert verify_bundle(copy, trusted={signer.fingerprint}, ledger_path=book).status == "VALID"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o700
    assert stat.S_IMODE((copy / "manifest.json").stat().st_mode) == 0o600
    assert [p.name for p in share.iterdir()] == ["drill-file"]  # no staging folder left behind
    [line] = receipts(book, "drill-file")
    assert line["location"] == str(copy)
    assert line["manifest_sha256"] == bundle.manifest_sha256
    [again] = file_bundle(bundle.path, [FolderFiler(share)], signer, book)  # `drill file` retry
    assert again.ok
    assert again.receipt is not None
    assert again.receipt.already_filed
    (copy / "manifest.json").chmod(0o600)
    (copy / "manifest.json").write_text("{}\n")  # a different bundle under the same name
    [clash] = file_bundle(bundle.path, [FolderFiler(share)], signer, book)
    assert not clash.ok
    assert "never overwritten" in clash.detail
    assert (copy / "manifest.json").read_text() == "{}\n"
    assert len(receipts(book, "drill-file")) == 2
    assert ledger.verify(book, {signer.fingerprint}).ok


def test_filing_refuses_a_bundle_this_key_did_not_sign(
    write_bundle: WriteBundle, tmp_path: Path, reports: Path
) -> None:
    bundle = write_bundle(healthy("drill-foreign"))
    stranger = Signer.load(state_dir=tmp_path / "stranger")
    [result] = file_bundle(bundle.path, [FolderFiler(tmp_path / "share")], stranger, reports / "ledger.jsonl")
    assert not result.ok
    assert "not a trusted key" in result.detail
    assert not result.attempted
    assert not (tmp_path / "share").exists()
    assert receipts(reports / "ledger.jsonl", "drill-foreign") == []


def test_cli_verify_whole_reports_dir(write_bundle: WriteBundle, reports: Path, signer: Signer) -> None:
    write_bundle(healthy("drill-r1"))
    second = write_bundle(failing("no_row", "drill-r2"))
    pin = ["--trust", signer.fingerprint]  # without it the exit code is 4 (UNPINNED)
    out = CliRunner().invoke(app, ["verify", str(reports), *pin])
    assert out.exit_code == 0, out.output
    assert "2 line(s)" in out.output
    writer = BundleWriter(reports, signer, pdf=None)
    writer.begin(healthy("drill-r3"))  # left unfinished: INCOMPLETE
    assert CliRunner().invoke(app, ["verify", str(reports), *pin]).exit_code == 3
    (second.path / "log.jsonl").write_text("edited\n")
    out = CliRunner().invoke(app, ["verify", str(reports), *pin])
    assert out.exit_code == 1
    assert f"INVALID: {second.path / 'log.jsonl'}: SHA-256 does not match" in out.output


def test_unclaimed_screenshots_are_still_shown(reports: Path, signer: Signer) -> None:
    writer = BundleWriter(reports, signer, pdf=None)
    record = failing("interrupted", "drill-shots")
    writer.begin(record)
    writer.add_screenshot("aadsts error page", _png("x"))
    bundle = writer.finalize(record)
    html = (bundle.path / "report.html").read_text()
    assert "Screenshots not attached to a step" in html
    assert "01-aadsts_error_page.png" in html
    assert 'src="data:image/png;base64,' in html
