"""Hostile tenant strings and ledger lines against every output format (issue 17 item 13).

The review found JUnit that no XML parser accepts once a control character is in a tenant string,
Markdown that kept ANSI escapes, and a history page that crashed on a ledger line without `next_due`.
Each test plants the input and reads the output the way its consumer would.
"""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET  # our own output, parsed to prove it is well-formed
from pathlib import Path

from evidence_support import WriteBundle
from markdown_it import MarkdownIt
from records_support import failing, healthy
from typer.testing import CliRunner

from drill.cli import app
from drill.evidence import junit, ledger, markdown
from drill.evidence.bundle import write_history
from drill.evidence.html import render_history, render_report
from drill.evidence.model import DrillRecord, Finding
from drill.evidence.signing import Signer

HOSTILE = (
    "\x1b[2J\x1b]0;owned\x07 NUL\x00 CR\rOVERWRITE \x7f\x9b31m \u202egnp.exe "
    '</failure></testcase><testcase name="forged"/> | x | `tick` [link](javascript:alert(1)) '
    "![px](https://evil.example/p.png) <script>alert(1)</script> <img src=x onerror=alert(1)> *b* _i_"
)
HEADING = "\n# Approved by the CISO"
# Code points XML 1.0 forbids; the escape and bidi characters must not survive in any format.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")


def hostile(record: DrillRecord) -> DrillRecord:
    """Every tenant-shaped field the renderers print, loaded with the payload."""
    record.account_name = f"bg-{HOSTILE}"
    record.account_upn = f"bg@{HOSTILE}{HEADING}"
    record.tenant_domain = HOSTILE
    record.reason = HOSTILE + HEADING
    record.witness = HOSTILE
    record.operator = {"name": HOSTILE}
    record.workstation = {"host": HOSTILE}
    for step in record.steps:
        step.reason = HOSTILE + HEADING
        for check in step.checks:
            check.id = f"{check.id}{HOSTILE}"
            check.reason = HOSTILE + HEADING
            check.evidence = {"DisplayName": HOSTILE}
    record.findings = [Finding(severity="warning", title=HOSTILE, detail=HOSTILE + HEADING)]
    return record


def test_junit_with_control_characters_is_well_formed_xml() -> None:
    text = junit.render(hostile(failing("ga_eligible")))
    assert not XML_ILLEGAL.search(text)
    root = ET.fromstring(text)  # noqa: S314  (raised "not well-formed" before the fix)
    suite = root.find("testsuite")
    assert suite is not None
    assert len(suite.findall("testcase")) == int(suite.get("tests", "-1"))  # nothing forged a test case
    assert all(c.get("name") != "forged" for c in suite.iter("testcase"))
    failure = suite.find("testcase/failure")
    assert failure is not None
    message = failure.get("message", "")
    assert message.startswith("\\x1b[2J\\x1b]0;owned\\x07 NUL\\x00 CR\\x0dOVERWRITE")  # shown, inert
    assert "</failure></testcase>" in message  # tenant text comes back as text
    assert "\\u202e" in message


def test_cli_junit_of_a_signed_hostile_bundle_parses(write_bundle: WriteBundle) -> None:
    bundle = write_bundle(hostile(healthy("drill-hostile")))
    pin = ["--trust", bundle.fingerprint]
    out = CliRunner().invoke(app, ["report", str(bundle.path), "--format", "junit", *pin])
    assert out.exit_code == 0, out.output
    suite = ET.fromstring(out.stdout).find("testsuite")  # noqa: S314
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "PASS"
    assert not RAW_CONTROL.search(out.stdout)


def test_markdown_keeps_no_escape_and_renders_no_markup() -> None:
    text = markdown.render(hostile(failing("late_alert")))
    assert not RAW_CONTROL.search(text)  # the ANSI escape used to reach the ticket (and the terminal) raw
    assert "\\x1b[2J" in text  # visible, so the reader sees that something was there
    assert "\n# Approved" not in text
    html = MarkdownIt("commonmark").enable("table").render(text)
    for tag in ("<script", "<img", "<a ", "<h1", "<em", "<strong>b"):
        assert tag not in html, tag
    assert "&lt;script&gt;" in html
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    assert rows
    widths = {len(re.findall(r"<t[dh]>", row)) for row in rows}
    assert widths <= {3, 4}  # `| x |` in a tenant string split no cell
    assert html.count("<table>") == 2


def test_html_report_shows_controls_as_text() -> None:
    page = render_report(hostile(failing("late_alert")))
    assert not RAW_CONTROL.search(page)
    assert "\\x1b[2J" in page
    assert "<script>alert" not in page


def _sign_line(path: Path, signer: Signer, **entry: object) -> None:
    """A line the workstation's own key signed (an older version's, or one with odd fields)."""
    ledger.append(path, {"kind": "drill", "account": "bg-primary", **entry}, signer)


def test_history_page_survives_a_ledger_line_without_next_due(
    write_bundle: WriteBundle, reports: Path, signer: Signer
) -> None:
    first = write_bundle(healthy("drill-h1"))
    # Written by an older version: every field but next_due.
    _sign_line(
        first.ledger_path, signer, drill_id="drill-by-hand", verdict="PASS",
        started_at="2026-11-01T06:00:00Z", timings={},
    )  # fmt: skip
    page = write_history(reports, first.ledger_path, "bg-primary", signer)
    assert page is not None  # rendering raised UndefinedError ('next_due') before the fix
    html = page.read_text(encoding="utf-8")
    assert re.search(r"<td>drill-by-hand</td>[^\n]*\n[^\n]*<td>—</td></tr>", html)
    assert "drill-h1" in html


def test_history_page_shows_hostile_ledger_fields_as_text(
    write_bundle: WriteBundle, reports: Path, signer: Signer
) -> None:
    first = write_bundle(healthy("drill-h1"))
    _sign_line(first.ledger_path, signer, drill_id=f"drill-{HOSTILE}", verdict=HOSTILE, timings="not a dict")
    page = write_history(reports, first.ledger_path, "bg-primary", signer)
    assert page is not None
    html = page.read_text(encoding="utf-8")
    assert not RAW_CONTROL.search(html)
    assert "drill-\\x1b[2J" in html
    assert "<script>alert" not in html


def test_history_page_leaves_out_lines_that_do_not_verify_and_says_so(
    write_bundle: WriteBundle, reports: Path, signer: Signer, tmp_path: Path
) -> None:
    """A planted PASS (unsigned, or signed by another key) is not shown as a drill, as status ignores it."""
    first = write_bundle(healthy("drill-h1"))
    planted = {"kind": "drill", "account": "bg-primary", "drill_id": "drill-planted", "verdict": "PASS"}
    with first.ledger_path.open("a", encoding="utf-8") as book:
        book.write(json.dumps(planted) + "\n")
    page = write_history(reports, first.ledger_path, "bg-primary", signer)
    assert page is not None
    html = page.read_text(encoding="utf-8")
    assert "drill-h1" in html
    assert "drill-planted" not in html
    assert "1 ledger problem(s)" in html
    other = Signer.load(state_dir=tmp_path / "other")
    assert (
        "drill-h1"
        not in (write_history(reports, first.ledger_path, "bg-primary", other) or Path()).read_text()
    )


def test_history_chart_with_infinite_or_huge_latencies_finishes() -> None:
    """JSON's `Infinity` (which Python's json accepts) made the chart's tick loop never end."""
    entries = [
        {"drill_id": "a", "started_at": "2026-10-01", "timings": {"time_to_row_s": float("inf")}},
        {"drill_id": "b", "started_at": "2026-11-01", "timings": {"time_to_row_s": 1e308}},
        {"drill_id": "c", "started_at": "2026-12-01", "timings": {"time_to_row_s": float("nan")}},
        {"drill_id": "d", "started_at": "2026-12-02", "timings": {"time_to_row_s": 120.0}},
    ]
    pages: list[str] = []
    worker = threading.Thread(target=lambda: pages.append(render_history("bg", entries)), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert pages, "render_history did not finish"
    assert "2 min 0 s" in pages[0]
