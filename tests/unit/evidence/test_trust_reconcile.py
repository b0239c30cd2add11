"""Reconcile adopts only this writer's own crashed drills, never a folder someone planted (issue 17 item 1).

Reconcile signs what it appends with the workstation key, so adopting a planted bundle would launder it:
a PASS self-signed by an attacker's key came out as a ledger line signed by ours.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from evidence_support import WriteBundle
from records_support import healthy

from drill.evidence import ledger
from drill.evidence.bundle import STARTED_NAME, BundleWriter, reconcile, record_started, started_ids
from drill.evidence.signing import Signer
from drill.evidence.verify import verify_ledger


def _plant(reports: Path, forger: Signer, drill_id: str, tmp_path: Path) -> Path:
    """A complete, self-consistent PASS bundle signed by `forger`, ledgered nowhere near `reports`."""
    writer = BundleWriter(reports, forger, ledger_path=tmp_path / "forger" / "ledger.jsonl", pdf=None)
    writer.begin(healthy(drill_id, account="bg-never-drilled"))
    return writer.finalize(healthy(drill_id, account="bg-never-drilled")).path


def test_a_bundle_signed_by_another_key_is_never_adopted(
    write_bundle: WriteBundle, reports: Path, signer: Signer, tmp_path: Path
) -> None:
    first = write_bundle(healthy("drill-real-1"))
    _plant(reports, Signer.generate(), "drill-planted", tmp_path)
    # the attacker also forges a started record for it, unsigned and signed by their own key
    forger = Signer.generate()
    record_started(reports, "drill-planted", forger)
    with (reports / STARTED_NAME).open("a", encoding="utf-8") as fh:
        fh.write('{"drill_id":"drill-planted","kind":"drill-started","signer":"x","sig":"AAAA"}\n')
    assert "drill-planted" not in started_ids(reports, signer)
    assert reconcile(reports, first.ledger_path, signer) == []
    write_bundle(healthy("drill-real-2"))  # begin() reconciles too
    ids = [e["drill_id"] for e in ledger.read_entries(first.ledger_path)]
    assert ids == ["drill-real-1", "drill-real-2"]
    assert verify_ledger(first.ledger_path, trusted={signer.fingerprint}).ok


def test_our_own_bundle_not_begun_here_is_not_adopted(
    write_bundle: WriteBundle, reports: Path, signer: Signer, tmp_path: Path
) -> None:
    """Signed by the workstation key, but begun in another evidence folder: copied in, not ours to ledger."""
    elsewhere = tmp_path / "other-tenant-reports"
    other = BundleWriter(elsewhere, signer, pdf=None)
    other.begin(healthy("drill-copied"))
    copied = other.finalize(healthy("drill-copied"))
    first = write_bundle(healthy("drill-here"))
    shutil.copytree(copied.path, reports / "drill-copied")
    assert reconcile(reports, first.ledger_path, signer) == []
    assert "drill-copied" not in {e["drill_id"] for e in ledger.read_entries(first.ledger_path)}


def test_our_own_crashed_drill_is_still_adopted(
    write_bundle: WriteBundle, reports: Path, signer: Signer
) -> None:
    """The reason reconcile exists: a crash between the rename and the ledger append."""
    first = write_bundle(healthy("drill-a"))
    write_bundle(healthy("drill-b"))
    first.ledger_path.write_bytes(first.ledger_path.read_bytes().splitlines(keepends=True)[0])
    assert started_ids(reports, signer) >= {"drill-a", "drill-b"}
    assert reconcile(reports, first.ledger_path, signer) == ["drill-b"]
