"""A check the platform cannot observe (Windows WebAuthn path): never PASS without the proof replacing it.

Every consumer of the status is exercised: the verdict, the step builder, Markdown, HTML, JUnit and verify.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from evidence_support import WriteBundle
from records_support import healthy

from drill.evidence import html, junit, markdown, verify
from drill.evidence.model import Check, DrillRecord, Status, Verdict, decide_verdict
from drill.evidence.verify import BundleResult, verify_bundle
from drill.steps.base import StepBuilder

PROOF = "signin/key_identity"


def _record(proof: Status | None, *, replaced_by: str | None = PROOF, required: bool = True) -> DrillRecord:
    """The healthy drill, its key model not observable in preflight and proven (or not) in signin."""
    record = healthy()
    pre = next(s for s in record.steps if s.step == "preflight")
    pre.checks.append(
        Check(
            id="key_aaguid",
            title="Key model (AAGUID) is one the playbook approves",
            status=Status.NOT_OBSERVABLE,
            reason="the Windows WebAuthn API shows no key before its dialog",
            required=required,
            replaced_by=replaced_by,
        )
    )
    signin = next(s for s in record.steps if s.step == "signin")
    if proof is not None:
        signin.checks.append(
            Check(
                id="key_identity",
                title="The key that answered is an approved model",
                status=proof,
                reason="every passkey registered to the account is an approved model",
            )
        )
    return record


def _verdict(record: DrillRecord) -> tuple[Verdict, str]:
    return decide_verdict(record.steps, finished=True)


def test_not_observable_passes_only_through_its_passed_proof() -> None:
    assert _verdict(_record(Status.PASS))[0] is Verdict.PASS
    verdict, reason = _verdict(_record(Status.FAIL))
    assert verdict is Verdict.FAIL
    assert reason.startswith("preflight/key_aaguid: not observable")
    assert f"{PROOF} is fail" in reason
    verdict, reason = _verdict(_record(None))
    assert verdict is Verdict.FAIL
    assert f"{PROOF} did not run" in reason
    verdict, reason = _verdict(_record(Status.PASS, replaced_by=None))
    assert verdict is Verdict.FAIL
    assert "nothing proves it instead" in reason
    # A proof that names a not-observable check (a chain) is not a passed proof.
    chained = _record(Status.NOT_OBSERVABLE)
    assert _verdict(chained)[0] is Verdict.FAIL


def test_optional_not_observable_never_fails_the_drill() -> None:
    assert _verdict(_record(None, replaced_by=None, required=False))[0] is Verdict.PASS


def test_step_defers_to_the_named_proof_and_fails_without_one() -> None:
    sb = StepBuilder("preflight", "Preflight")
    sb.check("key_present", "present", True, "ok")
    sb.not_observable("key_aaguid", "model", "hidden by the OS dialog", PROOF)
    sb.not_observable("key_pin_retries", "retries", "hidden", None, required=False)
    done = sb.finish("ready")
    assert done.status is Status.PASS
    assert "2 check(s) not observable" in done.reason
    assert PROOF in done.reason
    bare = StepBuilder("preflight", "Preflight")
    bare.check("key_present", "present", True, "ok")
    bare.not_observable("key_aaguid", "model", "hidden", None)
    assert bare.finish().status is Status.FAIL
    only = StepBuilder("preflight", "Preflight")
    only.not_observable("key_aaguid", "model", "hidden", PROOF)
    assert only.finish().status is Status.FAIL, "a step that proved nothing itself cannot pass"


@pytest.mark.parametrize("proof", [Status.PASS, Status.FAIL])
def test_every_renderer_marks_the_check_and_its_proof(proof: Status) -> None:
    record = _record(proof)
    record.verdict, record.reason = _verdict(record)
    state = proof.value.upper()
    md = markdown.render(record)
    assert "NOT OBSERVABLE" in md
    assert f"proven instead by {PROOF}: {state}" in md
    page = html.render_report(record)
    assert "s-not_observable" in page
    assert f"proven instead by {PROOF}: {state}" in page
    root = ET.fromstring(junit.render(record))  # noqa: S314 (our own output)
    case = next(c for c in root.iter("testcase") if c.get("name") == "key_aaguid")
    if proof is Status.PASS:
        assert case.find("skipped") is not None
        assert case.find("failure") is None
    else:
        failure = case.find("failure")
        assert failure is not None
        assert f"{PROOF}: FAIL" in (failure.text or "")


def test_writer_and_verify_refuse_a_pass_whose_not_observable_check_lacks_its_proof(
    write_bundle: WriteBundle, tmp_path: Path
) -> None:
    good = write_bundle(_record(Status.PASS))
    assert good.verdict is Verdict.PASS
    assert verify_bundle(good.path).status == "VALID"
    forged = _record(None)  # claims PASS without the proof: the writer re-decides, fail closed
    forged.drill_id = "drill-20261125-060000-bg2"
    written = write_bundle(forged)
    assert written.verdict is Verdict.FAIL
    assert "preflight/key_aaguid" in written.reason
    assert verify_bundle(written.path).status == "VALID"
    # A report.json signed by someone who skipped the writer: verify recomputes what the steps carry.
    folder = tmp_path / forged.drill_id
    folder.mkdir()
    (folder / "report.json").write_text(forged.model_dump_json(), encoding="utf-8")
    result = BundleResult(folder)
    verify._check_report(folder, {"verdict": "PASS", "drill_id": forged.drill_id}, result)
    assert result.status == "INVALID"
    assert any("verdict PASS but preflight/key_aaguid" in p for p in result.problems)
