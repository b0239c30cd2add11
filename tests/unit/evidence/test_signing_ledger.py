"""The workstation key (created once, 0600, refused when others can read it) and the ledger's append rules."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from drill.errors import DrillUserError
from drill.evidence import ledger
from drill.evidence.signing import KEY_FILE, Signer, verify_signature


def test_workstation_key_is_created_once_with_0600(tmp_path: Path) -> None:
    first = Signer.load(state_dir=tmp_path / "state")
    path = tmp_path / "state" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    second = Signer.load(state_dir=tmp_path / "state")
    assert first.fingerprint == second.fingerprint
    assert first.fingerprint.startswith("SHA256:")
    sig = first.sign(b"manifest")
    assert verify_signature(second.public_b64, b"manifest", sig)
    assert not verify_signature(second.public_b64, b"manifesT", sig)
    assert not verify_signature(second.public_b64, b"manifest", "not base64!")


def test_explicit_key_path_and_its_checks(tmp_path: Path) -> None:
    Signer.load(state_dir=tmp_path)  # writes a PEM we can point at
    key = tmp_path / KEY_FILE
    assert Signer.load(key_path=key).source == str(key)
    key.chmod(0o644)
    with pytest.raises(DrillUserError, match="chmod 600"):
        Signer.load(key_path=key)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    bad.chmod(0o600)
    with pytest.raises(DrillUserError, match="not an unencrypted PEM"):
        Signer.load(key_path=bad)
    with pytest.raises(DrillUserError, match="cannot read"):
        Signer.load(key_path=tmp_path / "missing.pem")


def test_ledger_appends_other_kinds_and_chains_them(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    signer = Signer.generate()
    one = ledger.append(path, {"kind": ledger.KIND_DRILL, "drill_id": "d1"}, signer)
    two = ledger.append(path, {"kind": ledger.KIND_KEYLESS_CHECK, "account": "bg1", "ok": True}, signer)
    assert (one["seq"], two["seq"]) == (1, 2)
    assert one["prev"] == ledger.GENESIS
    assert two["prev"] == ledger.line_hash(path.read_bytes().splitlines()[0])
    report = ledger.verify(path)
    assert report.ok
    assert report.head == ledger.line_hash(path.read_bytes().splitlines()[1])
    assert [e["kind"] for e in ledger.read_entries(path)] == ["drill", "keyless-check"]
    assert ledger.read_entries(path, kind="keyless-check", account="bg1")[0]["ok"] is True
    assert not ledger.verify(path, trusted_fingerprints={"SHA256:other"}).ok


def test_ledger_refuses_reserved_fields_and_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    signer = Signer.generate()
    with pytest.raises(ValueError, match="reserved"):
        ledger.append(path, {"kind": "drill", "seq": 7}, signer)
    with pytest.raises(ValueError, match="kind"):
        ledger.append(path, {"drill_id": "x"}, signer)
    ledger.append(path, {"kind": "drill"}, signer)
    path.write_bytes(path.read_bytes() + b'{"kind":"dri')
    with pytest.raises(DrillUserError, match="torn"):
        ledger.append(path, {"kind": "drill"}, signer)
    assert ledger.verify(path).problems == [f"{path}:2: torn last line (no newline)"]


def test_unsigned_line_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    line = ledger.canonical({"kind": "drill", "prev": ledger.GENESIS, "seq": 1, "v": 1})
    path.write_bytes(line + b"\n")
    assert ledger.verify(path).problems == [f"{path}:1: unsigned line"]


def test_a_drill_is_never_ledgered_twice(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    signer = Signer.generate()
    first = ledger.append(path, {"kind": ledger.KIND_DRILL, "drill_id": "d1", "verdict": "PASS"}, signer)
    again = ledger.append(path, {"kind": ledger.KIND_DRILL, "drill_id": "d1", "verdict": "PASS"}, signer)
    assert again == first
    assert len(path.read_bytes().splitlines()) == 1
