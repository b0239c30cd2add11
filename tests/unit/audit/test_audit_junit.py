"""JUnit XML of the audit: parses, maps each status, and keeps hostile text escaped, legal and redacted."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from drill.audit.catalog import BY_ID, CATALOG
from drill.audit.junit import render
from drill.audit.model import Outcome, Result, Status
from drill.audit.report import AuditReport

JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhYmNkZWYifQ.c2lnbmF0dXJlLXRleHQ"


def report(overrides: dict[str, Outcome] | None = None) -> AuditReport:
    overrides = overrides or {}
    results = [Result(spec, overrides.get(spec.id) or Outcome.passed("fine")) for spec in CATALOG]
    return AuditReport(
        "6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00",
        "demo.yaml",
        datetime(2026, 12, 2, 6, 0, tzinfo=UTC),
        results,
        requests={"graph": 41, "arm": 9},
        notes=["PIM not licensed: read roleAssignments"],
    )


def case(root: ET.Element, check_id: str) -> ET.Element:
    found = [c for c in root.iter("testcase") if c.get("name", "").startswith(f"{check_id} ")]
    assert len(found) == 1
    return found[0]


def test_one_case_per_check_with_the_area_as_classname() -> None:
    root = ET.fromstring(render(report()))  # noqa: S314  (our own output)
    suite = root.find("testsuite")
    assert suite is not None
    cases = list(root.iter("testcase"))
    assert len(cases) == len(CATALOG)
    assert suite.get("tests") == str(len(CATALOG))
    assert suite.get("failures") == "0"
    assert suite.get("errors") == "0"
    assert case(root, "BG.AL.4").get("classname") == BY_ID["BG.AL.4"].area
    assert case(root, "BG.AL.4").get("name") == f"BG.AL.4 {BY_ID['BG.AL.4'].title}"
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["exit_code"] == "0"
    assert props["requests:graph"] == "41"


def test_each_status_maps_to_its_junit_element() -> None:
    rep = report({
        "BG.CA.3": Outcome.failed("CA001 applies to the accounts", offenders=["CA001 - Require MFA (8a7b)"]),
        "BG.AL.1": Outcome.error("could not read coverage (403)"),
        "BG.ACC.8": Outcome(Status.WARNING, "ea01 holds an E5 licence", offenders=["ea01: SPE_E5"]),
        "BG.AL.5": Outcome(Status.NOT_APPLICABLE, "the playbook names no Sentinel analytics rule"),
    })  # fmt: skip
    root = ET.fromstring(render(rep))  # noqa: S314
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "1", "1")
    failure = case(root, "BG.CA.3").find("failure")
    assert failure is not None
    assert failure.get("message") == "CA001 applies to the accounts"
    assert "- CA001 - Require MFA (8a7b)" in (failure.text or "")
    assert "Remediation:" in (failure.text or "")
    assert case(root, "BG.AL.1").find("error") is not None
    warning = case(root, "BG.ACC.8")
    assert warning.find("failure") is None
    assert warning.find("error") is None
    out = warning.find("system-out")
    assert out is not None
    assert "ea01: SPE_E5" in (out.text or "")
    skipped = case(root, "BG.AL.5").find("skipped")
    assert skipped is not None
    assert "Sentinel" in (skipped.get("message") or "")
    passed = case(root, "BG.ACC.1")
    assert list(passed) == []
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["exit_code"] == "1"


def test_hostile_text_is_escaped_and_the_file_still_parses() -> None:
    hostile = 'policy </failure><injected/> & "quotes" \x00\x1b[2J\x0b \ud800 end'
    rep = report({"BG.CA.3": Outcome.failed(hostile, offenders=[hostile, f"token {JWT}"])})
    text = render(rep)
    root = ET.fromstring(text)  # noqa: S314  (would raise on an illegal code point or broken markup)
    assert root.find(".//injected") is None
    failure = case(root, "BG.CA.3").find("failure")
    assert failure is not None
    assert "</failure><injected/>" in (failure.get("message") or "")
    assert "\\x00" in (failure.text or "")
    assert "\\x1b[2J" in (failure.text or "")
    assert JWT not in text
    assert "[REDACTED]" in text
