"""Issue 29 item 3: a ledger line forged while a drill runs must not take that drill's place.

Reproduced on main before the fix: while the drill's bundle was still `<id>.partial`, a `drill` line with
its id, signed by another key, was appended to the ledger. The writer found "its" line already there and
wrote none: the drill printed the forged line's number, `drill file` refused the bundle, and reconcile never
repaired it (it took the drill ids it knows from lines it had not verified). Here the forgery happens from
inside the real writer's finish path, against the real ledger file, and the real commands judge the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from cli_support import run_cli
from evidence_support import folder_playbook
from records_support import healthy

from drill.evidence import ledger, manifest
from drill.evidence.bundle import BundleWriter, reconcile
from drill.evidence.model import Verdict
from drill.evidence.signing import Signer
from drill.fsutil import sha256_file

DRILL = "drill-20261125-060000-bg1"


def _start(record: Any) -> Any:
    return record.model_copy(update={"steps": [], "verdict": Verdict.INCOMPLETE, "reason": "running"})


def test_a_line_forged_mid_drill_does_not_stand_in_for_the_drill(
    reports: Path, signer: Signer, session_pdf: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = reports / ledger.LEDGER_NAME
    forger = Signer.generate()
    real_append = ledger.append
    forged: list[dict[str, Any]] = []

    def forge_first(path: Path, entry: Mapping[str, Any], by: Signer) -> dict[str, Any]:
        """The moment before the genuine append (the bundle just renamed, its manifest written): the
        forger copies every field of the line to come, the manifest hash included."""
        if entry.get("kind") == ledger.KIND_DRILL and not forged:
            forged.append(real_append(path, dict(entry), forger))
        return real_append(path, entry, by)

    def pdf_and_forge(_html: str) -> bytes:
        assert (reports / f"{DRILL}{manifest.PARTIAL_SUFFIX}").is_dir()  # the drill is still running
        # a first forgery, before the manifest exists: the id alone, with a made-up hash
        entry = ledger.drill_entry(healthy(DRILL), DRILL, "0" * 64)
        real_append(book, entry, forger)
        return session_pdf

    monkeypatch.setattr(ledger, "append", forge_first)
    writer = BundleWriter(reports, signer, pdf=pdf_and_forge)
    writer.begin(_start(healthy(DRILL)))
    done = writer.finalize(healthy(DRILL))
    monkeypatch.setattr(ledger, "append", real_append)

    # the genuine line was written, after both forgeries, and it is the one the drill prints
    assert [(e["seq"], e["signer"]) for e in ledger.read_entries(book, kind=ledger.KIND_DRILL)] == [
        (1, forger.fingerprint),
        (2, forger.fingerprint),
        (3, signer.fingerprint),
    ]
    assert forged[0]["manifest_sha256"] == done.manifest_sha256  # the strongest forgery: same hash
    assert done.ledger_line["seq"] == 3
    assert done.ledger_line["signer"] == signer.fingerprint
    assert f"ledger: {book} line 3, head {done.ledger_head}" in done.summary()

    # filing succeeds through the real command: the bundle verifies against its genuine line
    share = tmp_path / "share"
    playbook = folder_playbook(tmp_path, share, signer)
    code, out, err = run_cli("file", str(done.path), "--playbook", str(playbook))
    assert code == 0, out + err
    assert f"filed: folder {share}" in out
    assert (share / DRILL / manifest.MANIFEST).read_bytes() == (done.path / manifest.MANIFEST).read_bytes()

    # and `drill verify --ledger`, pinned, names both forged lines
    code, out, _err = run_cli("verify", "--ledger", str(book), "--trust", signer.fingerprint)
    assert code == 1
    assert f"{book}:1: signed by {forger.fingerprint}, which is not a trusted key" in out
    assert f"{book}:2: signed by {forger.fingerprint}, which is not a trusted key" in out
    code, out, _err = run_cli("verify", str(done.path), "--ledger", str(book), "--trust", signer.fingerprint)
    assert f"VALID: {done.path} (verdict PASS" in out
    assert code == 1  # the bundle is fine; the ledger it is recorded in carries forgeries


def test_reconcile_repairs_a_crashed_drill_whatever_lines_others_forged_for_it(
    reports: Path, signer: Signer, tmp_path: Path
) -> None:
    """A crash between the rename and the append, then a forged line with the drill's id: reconcile at the
    next drill's begin still writes the genuine line (it knows drills from lines that verify only)."""
    book = reports / ledger.LEDGER_NAME
    writer = BundleWriter(reports, signer, pdf=None, history=False)
    writer.begin(_start(healthy(DRILL)))
    done = writer.finalize(healthy(DRILL))
    book.unlink()  # as if the process died before the append
    (reports / "ledger.jsonl.lock").unlink()
    forger = Signer.generate()
    digest = sha256_file(done.path / manifest.MANIFEST)
    ledger.append(book, ledger.drill_entry(healthy(DRILL), DRILL, digest), forger)

    assert reconcile(reports, book, signer) == [DRILL]
    lines = ledger.read_entries(book, kind=ledger.KIND_DRILL)
    assert [(e["drill_id"], e["signer"]) for e in lines] == [
        (DRILL, forger.fingerprint),
        (DRILL, signer.fingerprint),
    ]
    assert reconcile(reports, book, signer) == []  # once recorded, never twice
    report = ledger.verify(book, {signer.fingerprint})
    assert [e["seq"] for e in report.verified] == [2]
