"""`drill verify` and trust (issue 17 items 3 and 13): no silent VALID without a pin, mixed signers,
both directions between the folder and its ledger, the recorded head hash, and escaped output."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from cli_support import run_cli
from evidence_support import WriteBundle
from records_support import failing, healthy

from drill.evidence import ledger
from drill.evidence import manifest as m
from drill.evidence.bundle import FinishedBundle
from drill.evidence.model import DrillRecord, Verdict
from drill.evidence.signing import Signer


@pytest.fixture
def two(write_bundle: WriteBundle) -> list[FinishedBundle]:
    return [write_bundle(healthy("drill-1")), write_bundle(failing("late_alert", "drill-2"))]


def _resign(folder: Path, forger: Signer, verdict: Verdict | None = None) -> str:
    """What an attacker who can write the folder does: edit report.json, re-sign it with their own key."""
    record = DrillRecord.model_validate_json((folder / m.REPORT_JSON).read_bytes())
    if verdict is not None:
        record = record.model_copy(
            update={"verdict": verdict, "reason": "every required step and check passed"}
        )
        (folder / m.REPORT_JSON).write_text(record.model_dump_json(indent=2) + "\n")
    (folder / m.PUBLIC_KEY).write_bytes(forger.public_pem())
    body = m.build(folder, record, forger, "disabled" if not (folder / m.REPORT_PDF).exists() else "rendered")
    (folder / m.MANIFEST).write_bytes(body)
    (folder / m.SIGNATURE).write_text(forger.sign(body) + "\n")
    return hashlib.sha256(body).hexdigest()


def test_no_trust_anchor_is_unpinned_with_its_own_exit_code(two: list[FinishedBundle]) -> None:
    reports = two[0].path.parent
    for args in ([str(two[0].path)], ["--ledger", str(two[0].ledger_path)], [str(reports)]):
        code, out, _ = run_cli("verify", *args)
        assert code == 4, (args, out)
        assert "UNPINNED: no trust anchor" in out
        assert two[0].fingerprint in out  # names the signer it saw, so the operator can check it
        code, out, _ = run_cli("verify", *args, "--trust", two[0].fingerprint)
        assert code == 0, (args, out)
        assert "UNPINNED" not in out


def test_a_bundle_resigned_by_an_attacker_is_not_silently_valid(
    two: list[FinishedBundle], tmp_path: Path
) -> None:
    forger = Signer.generate()
    loose = tmp_path / "loose" / "drill-2"  # no ledger beside it: only the signature speaks for it
    shutil.copytree(two[1].path, loose)
    _resign(loose, forger, None)
    code, out, _ = run_cli("verify", str(loose))
    assert code == 4  # it used to be a plain VALID, exit 0, with no warning
    assert f"signed by {forger.fingerprint}" in out
    assert "UNPINNED" in out
    code, out, _ = run_cli("verify", str(loose), "--trust", two[1].fingerprint)
    assert code == 1
    assert f"signed by {forger.fingerprint}, which is not a trusted key" in out
    _resign(loose, forger, Verdict.PASS)  # the FAIL flipped to PASS: its own steps refute it, pinned or not
    code, out, _ = run_cli("verify", str(loose))
    assert code == 1
    assert "verdict PASS but" in out


def test_fail_to_pass_swap_with_a_rewritten_ledger_line_is_mixed_signers(two: list[FinishedBundle]) -> None:
    """Re-sign the FAIL bundle as PASS and rewrite its (last) ledger line with the attacker's key."""
    forger = Signer.generate()
    digest = _resign(two[1].path, forger, Verdict.PASS)
    book = two[1].ledger_path
    lines = book.read_bytes().splitlines(keepends=True)
    book.write_bytes(b"".join(lines[:-1]))
    record = DrillRecord.model_validate_json((two[1].path / m.REPORT_JSON).read_bytes())
    ledger.append(book, ledger.drill_entry(record, "drill-2", digest), forger)
    code, out, _ = run_cli("verify", str(book.parent))  # no pin: still caught
    assert code == 1, out
    assert "mixed signers" in out
    code, out, _ = run_cli("verify", "--ledger", str(book), "--trust", two[0].fingerprint)
    assert code == 1
    assert "which is not a trusted key" in out


def test_folder_mode_reports_a_bundle_the_ledger_lacks_and_a_line_whose_bundle_is_gone(
    two: list[FinishedBundle], tmp_path: Path
) -> None:
    reports, pin = two[0].path.parent, ["--trust", two[0].fingerprint]
    shutil.rmtree(two[1].path)  # the FAIL bundle deleted
    code, out, _ = run_cli("verify", str(reports), *pin)
    assert code == 1
    assert "bundle drill-2 (FAIL) is missing from" in out
    shutil.copytree(two[0].path, tmp_path / "keep")
    book = two[0].ledger_path
    book.write_bytes(b"")  # both lines gone: drill-1 is now in no ledger line
    code, out, _ = run_cli("verify", str(reports), *pin)
    assert code == 1
    assert "has no line for drill drill-1" in out
    book.unlink()  # and no ledger at all: still a folder of bundles, still reported
    code, out, _ = run_cli("verify", str(reports), *pin)
    assert code == 1
    assert "no ledger records drill drill-1" in out


def test_ledger_mode_notes_a_line_whose_bundle_is_not_beside_it(two: list[FinishedBundle]) -> None:
    shutil.rmtree(two[1].path)
    code, out, _ = run_cli("verify", "--ledger", str(two[0].ledger_path), "--trust", two[0].fingerprint)
    assert code == 0  # bundles may be filed elsewhere; but it is said, not skipped silently
    assert "note:" in out
    assert "bundle drill-2 (FAIL) is missing" in out


def test_expect_head_detects_truncation_and_accepts_growth(
    two: list[FinishedBundle], write_bundle: WriteBundle
) -> None:
    book, pin = two[0].ledger_path, ["--trust", two[0].fingerprint]
    head = two[1].ledger_head
    assert head == ledger.line_hash(book.read_bytes().splitlines()[-1])
    assert f"--expect-head {head}" in "\n".join(two[1].summary())  # printed at the end of every drill
    assert run_cli("verify", "--ledger", str(book), *pin, "--expect-head", head)[0] == 0
    write_bundle(healthy("drill-3"))  # the ledger grows: the recorded head is still in it
    code, out, _ = run_cli("verify", "--ledger", str(book), *pin, "--expect-head", head)
    assert code == 0
    assert "1 line(s) appended since" in out
    book.write_bytes(b"".join(book.read_bytes().splitlines(keepends=True)[:1]))  # truncated to line 1
    assert run_cli("verify", "--ledger", str(book), *pin)[0] == 0  # the chain alone cannot see it
    code, out, _ = run_cli("verify", "--ledger", str(book), *pin, "--expect-head", head)
    assert code == 1
    assert "truncated or rewritten" in out
    code, out, _ = run_cli("verify", str(book.parent), *pin, "--expect-head", head)  # folder mode too
    assert code == 1
    assert "truncated or rewritten" in out


def test_bad_trust_and_head_values_are_usage_errors(two: list[FinishedBundle]) -> None:
    code, _, err = run_cli("verify", str(two[0].path), "--trust", "SHA256:nobody")
    assert code == 2
    assert "not a key fingerprint" in err
    assert "Traceback" not in err
    code, _, err = run_cli("verify", "--ledger", str(two[0].ledger_path), "--expect-head", "abc")
    assert code == 2
    assert "not a head hash" in err
    code, _, err = run_cli("verify", str(two[0].path), "--expect-head", "0" * 64)
    assert code == 2
    code, out, _ = run_cli("verify", str(two[0].path), "--trust", str(two[0].path / m.PUBLIC_KEY))
    assert code == 0, out  # a PEM file pins its key too


def test_control_characters_in_names_are_escaped(two: list[FinishedBundle], tmp_path: Path) -> None:
    """A carriage return in a folder name used to move the cursor back and overwrite the INVALID line."""
    hostile = tmp_path / "x\rVALID: all good\x1b[2K"
    shutil.copytree(two[0].path, hostile)
    (hostile / "log.jsonl").write_text("edited\n")
    code, out, _ = run_cli("verify", str(hostile), "--trust", two[0].fingerprint)
    assert code == 1
    assert "\r" not in out
    assert "\x1b" not in out
    assert "x\\x0dVALID: all good\\x1b[2K" in out
    for line in out.splitlines():
        assert line.startswith(("INVALID: ", "note: ")), line
