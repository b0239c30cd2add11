"""`drill report` verifies before it renders (issue 17 item 7).

The review deleted manifest.sig and edited report.json, and JUnit still said `verdict=PASS failures=0`
with exit 0. Each test below tampers with a real signed bundle and reads what CI and a ticket would see.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # our own output, parsed to prove what a CI dashboard reads
from pathlib import Path

from cli_support import run_cli
from evidence_support import WriteBundle
from records_support import failing, healthy
from typer.testing import CliRunner, Result

from drill.cli import app
from drill.evidence.bundle import BundleWriter
from drill.evidence.signing import Signer


def _report(bundle: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["report", str(bundle), *args])


def _junit(out: Result) -> tuple[ET.Element, dict[str | None, str | None]]:
    root = ET.fromstring(out.stdout)  # noqa: S314
    suite = root.find("testsuite")
    assert suite is not None
    return suite, {p.get("name"): p.get("value") for p in suite.iter("property")}


def test_deleted_signature_renders_incomplete_with_the_reason(write_bundle: WriteBundle) -> None:
    bundle = write_bundle(healthy("drill-nosig"))
    (bundle.path / "manifest.sig").unlink()
    out = _report(bundle.path, "--format", "junit")
    assert out.exit_code == 3, out.output
    suite, props = _junit(out)
    assert props["verdict"] == "INCOMPLETE"
    assert "manifest.sig: missing" in str(props["reason"])
    assert "claims PASS, which counts for nothing" in str(props["reason"])
    assert suite.get("errors") == "1"  # CI counts it red, not `failures=0`
    assert [c.get("name") for c in suite.iter("testcase")] == ["verify"]  # no claimed check shown
    assert "manifest.sig: missing" in out.stderr


def test_edited_report_json_renders_incomplete(write_bundle: WriteBundle) -> None:
    bundle = write_bundle(failing("ga_eligible", "drill-edited"))
    report = bundle.path / "report.json"
    data = json.loads(report.read_bytes())
    data["verdict"], data["reason"] = "PASS", "every required step and check passed"
    for step in data["steps"]:
        step["status"] = "pass"
        for check in step["checks"]:
            check["status"] = "pass"
    report.write_text(json.dumps(data, indent=2), encoding="utf-8")
    out = _report(bundle.path, "--format", "markdown")
    assert out.exit_code == 1, out.output
    assert out.stdout.startswith("## Break-glass drill: **INCOMPLETE**")
    assert "report.json: SHA-256 does not match the manifest (altered)" in out.stdout
    assert "every required step and check passed" not in out.stdout
    assert "**PASS**" not in out.stdout


def test_valid_bundle_still_renders_pass_and_names_its_signer(write_bundle: WriteBundle) -> None:
    bundle = write_bundle(healthy("drill-valid"))
    out = _report(bundle.path, "--format", "junit", "--trust", bundle.fingerprint)
    assert out.exit_code == 0, out.output
    suite, props = _junit(out)
    assert props["verdict"] == "PASS"
    assert suite.get("failures") == "0"
    assert suite.get("errors") == "0"
    assert props["evidence"] == f"VALID, signed by {bundle.fingerprint} (pinned by --trust)"
    pinned = _report(bundle.path, "--format", "markdown", "--trust", bundle.fingerprint)
    assert pinned.exit_code == 0, pinned.output
    assert pinned.stdout.startswith("## Break-glass drill: **PASS**")
    assert f"signed by {bundle.fingerprint} (pinned by --trust)" in pinned.stdout


def test_wrong_trust_renders_incomplete_untrusted_signer(write_bundle: WriteBundle) -> None:
    bundle = write_bundle(healthy("drill-pinned"))
    out = _report(bundle.path, "--format", "junit", "--trust", Signer.generate().fingerprint)
    assert out.exit_code != 0
    _, props = _junit(out)
    assert props["verdict"] == "INCOMPLETE"
    assert f"signed by {bundle.fingerprint}, which is not a trusted key" in str(props["reason"])


def test_a_mistyped_trust_is_a_usage_error_not_an_untrusted_signer(write_bundle: WriteBundle) -> None:
    """As for drill verify: a typo must not quietly pin nothing and blame the signature."""
    bundle = write_bundle(healthy("drill-typo"))
    code, out, err = run_cli(
        "report", str(bundle.path), "--format", "junit", "--trust", "SHA256:someone-else"
    )
    assert code == 2
    assert "not a key fingerprint" in err
    assert "<testsuite" not in out


def test_bundle_self_signed_by_another_key_fails_the_workstation_pin(
    reports: Path, signer: Signer, session_pdf: bytes, tmp_path: Path
) -> None:
    """A planted PASS, signed by the planter's own key, verifies on its own; only the pin exposes it."""
    planter = Signer.load(state_dir=tmp_path / "planter")
    writer = BundleWriter(reports, planter, pdf=lambda html: session_pdf)
    writer.begin(healthy("drill-planted"))
    planted = writer.finalize(healthy("drill-planted"))
    unpinned = _report(planted.path, "--format", "junit")
    _, props = _junit(unpinned)
    assert f"signed by {planted.fingerprint} (NOT pinned" in str(props["evidence"])
    pinned = _report(planted.path, "--format", "junit", "--trust", signer.fingerprint)
    assert pinned.exit_code == 1
    _, props = _junit(pinned)
    assert props["verdict"] == "INCOMPLETE"
    assert "not a trusted key" in str(props["reason"])


def test_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    out = _report(tmp_path / "no-such-drill")
    assert "not a drill evidence folder" in str(out.exception)
