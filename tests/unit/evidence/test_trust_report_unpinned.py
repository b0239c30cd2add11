"""Issue 29 item 4: `drill report` must not serve evidence anyone could have signed as if it were trusted.

Reproduced on main before the fix: a PASS drill bundle and an all-green audit bundle, each self-signed by an
attacker's key in the reports folder. `drill report` without `--trust` rendered the drill as PASS and printed
the audit's junit.xml verbatim, both with exit 0, while `drill verify` said UNPINNED (exit 4). Here the same
two bundles meet the real CLI.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # our own output, parsed to read what a CI dashboard reads
from pathlib import Path

from cli_support import run_cli
from evidence_support import WriteBundle
from records_support import healthy

from drill.evidence.audit_bundle import write_audit_bundle
from drill.evidence.audit_record import AuditCheck, AuditRecord, decide
from drill.evidence.html import render_audit
from drill.evidence.signing import Signer

ALL_GREEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<testsuites name="breakglass-drill audit">\n'
    '  <testsuite name="breakglass-drill audit t" tests="2" failures="0" errors="0" skipped="0">\n'
    '    <properties><property name="exit_code" value="0" />\n'
    '      <property name="evidence" value="VALID, signed by the real key (pinned by --trust)" />\n'
    "    </properties>\n"
    '    <testcase classname="Accounts" name="BG.ACC.1 Two accounts" time="0.000" />\n'
    '    <testcase classname="Accounts" name="BG.ACC.2 Cloud-only" time="0.000" />\n'
    "  </testsuite>\n"
    "</testsuites>\n"
)


def _attacker_audit(reports: Path, attacker: Signer, junit: str = ALL_GREEN) -> Path:
    """An audit bundle whose every check passed, signed by the attacker's key, all-green junit.xml inside."""
    from datetime import UTC, datetime

    fields = {"area": "Accounts", "title": "t", "severity": "high", "status": "passed", "summary": "ok"}
    checks = [
        AuditCheck.model_validate({"id": f"BG.ACC.{n}", "rationale": "r", "remediation": "x", **fields})
        for n in (1, 2)
    ]
    verdict, reason = decide(checks, {c.id for c in checks})
    now = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    record = AuditRecord(
        audit_id="audit-20261202T060000Z-f0f0f0", tenant_id="6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00",
        started_at=now, read_at=now, ended_at=now, verdict=verdict, reason=reason, checks=checks,
        counts={"passed": 2},
    )  # fmt: skip
    done = write_audit_bundle(
        record,
        reports,
        attacker,
        render_html=render_audit,
        pdf=None,
        extra_files=lambda _r: {"maester.json": b"{}", "junit.xml": junit.encode()},
    )
    return done.path


def _suite(out: str) -> tuple[ET.Element, dict[str | None, str | None]]:
    root = ET.fromstring(out)  # noqa: S314
    suite = root.find("testsuite")
    assert suite is not None
    return suite, {p.get("name"): p.get("value") for p in suite.iter("property")}


def _pinned_case(suite: ET.Element) -> ET.Element | None:
    return suite.find("testcase[@name='signer pinned']/error")


def test_an_attacker_signed_drill_bundle_is_not_reported_as_trusted(
    write_bundle: WriteBundle, reports: Path, signer: Signer, tmp_path: Path
) -> None:
    from drill.evidence.bundle import BundleWriter

    write_bundle(healthy("drill-20261125-060000-bg1"))  # the workstation's own drill, in the same folder
    attacker = Signer.load(state_dir=tmp_path / "attacker")
    writer = BundleWriter(reports, attacker, ledger_path=tmp_path / "elsewhere.jsonl", pdf=None)
    forged = healthy("drill-20261126-060000-bg2")
    writer.begin(forged)
    planted = writer.finalize(forged).path

    code, _out, _err = run_cli("verify", str(planted))
    assert code == 4
    code, out, err = run_cli("report", str(planted), "--format", "junit")
    assert code == 4, err
    assert "UNPINNED" in err
    suite, props = _suite(out)
    assert props["evidence"] == (
        f"VALID, signed by {attacker.fingerprint} (NOT pinned: pass --trust FINGERPRINT to require this key)"
    )
    error = _pinned_case(suite)
    assert error is not None  # a dashboard that reads only the file shows it red
    assert attacker.fingerprint in str(error.get("message"))
    assert suite.get("errors") == "1"
    code, out, err = run_cli("report", str(planted), "--format", "markdown")
    assert code == 4
    assert f"signed by {attacker.fingerprint} (NOT pinned" in out

    # Pinned to the workstation's key, it is what it is: not ours.
    code, out, _err = run_cli("report", str(planted), "--format", "junit", "--trust", signer.fingerprint)
    assert code == 1
    _, props = _suite(out)
    assert props["verdict"] == "INCOMPLETE"


def test_an_attacker_signed_audit_junit_is_not_printed_as_trusted(
    reports: Path, signer: Signer, tmp_path: Path
) -> None:
    attacker = Signer.load(state_dir=tmp_path / "attacker")
    planted = _attacker_audit(reports, attacker)

    code, _out, _err = run_cli("verify", str(planted))
    assert code == 4
    code, out, err = run_cli("report", str(planted), "--format", "junit")
    assert code == 4, err
    assert out != ALL_GREEN
    assert "UNPINNED" in err
    suite, props = _suite(out)
    assert str(props["evidence"]).startswith(f"VALID, signed by {attacker.fingerprint} (NOT pinned")
    assert props["exit_code"] == "0"  # the signed content is still there, under the attestation
    assert [p.get("value") for p in suite.iter("property") if p.get("name") == "evidence"] == [
        props["evidence"]
    ]  # and its own claim to have been pinned is gone
    assert _pinned_case(suite) is not None
    assert (suite.get("tests"), suite.get("errors")) == ("3", "1")

    target = tmp_path / "ci" / "audit.xml"
    code, _out, _err = run_cli("report", str(planted), "--format", "junit", "-o", str(target))
    assert code == 4
    assert _pinned_case(_suite(target.read_text())[0]) is not None

    code, out, _err = run_cli("report", str(planted), "--format", "junit", "--trust", signer.fingerprint)
    assert code == 1  # not ours: rendered fail-closed
    assert "BG.ACC.1" not in out

    # Only the pin makes it trusted: pinned to the key that signed it, the attestation says so.
    code, out, _err = run_cli("report", str(planted), "--format", "junit", "--trust", attacker.fingerprint)
    assert code == 0
    suite, props = _suite(out)
    assert props["evidence"] == f"VALID, signed by {attacker.fingerprint} (pinned by --trust)"
    assert _pinned_case(suite) is None
    assert suite.get("errors") == "0"


def test_a_junit_xml_declaring_entities_is_refused(reports: Path, tmp_path: Path) -> None:
    """Unpinned, junit.xml is whatever the bundle's key signed: parsed as hostile input, no DOCTYPE."""
    attacker = Signer.load(state_dir=tmp_path / "attacker")
    bomb = '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]><testsuites>&a;</testsuites>'
    planted = _attacker_audit(reports, attacker, bomb)
    code, out, err = run_cli("report", str(planted), "--format", "junit")
    assert code == 2
    assert "DOCTYPE" in err
    assert "&a;" not in out
    assert json.loads((planted / "manifest.json").read_text())["kind"] == "audit"
