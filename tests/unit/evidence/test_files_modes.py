"""Issue 17 item 11: evidence names the break-glass accounts and the CA and alert design, so it is owner-only.

Every folder the drill creates is 0700 and every file 0600 whatever the umask; the tests run under umask 0,
where anything left to the umask would come out world-readable (0777 / 0666).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from evidence_support import WriteBundle
from records_support import healthy

from drill.evidence.bundle import BundleWriter
from drill.evidence.model import Verdict
from drill.evidence.signing import Signer
from drill.evidence.verify import verify_bundle
from drill.schedule.due import SentStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """Two missing parents above the reports folder: each is created by the drill, so each is private."""
    return tmp_path / "evidence" / "tenant" / "reports"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _modes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix() or ".": _mode(p) for p in [root, *root.rglob("*")]}


def test_a_fresh_bundle_is_owner_only(
    open_umask: None, write_bundle: WriteBundle, reports: Path, tmp_path: Path
) -> None:
    bundle = write_bundle(healthy())
    assert verify_bundle(bundle.path).status == "VALID"

    modes = _modes(reports)
    folders = {name: mode for name, mode in modes.items() if (reports / name).is_dir()}
    files = {name: mode for name, mode in modes.items() if not (reports / name).is_dir()}
    assert {".", bundle.path.name, f"{bundle.path.name}/screenshots", "history"} <= folders.keys()
    assert {
        "README.md",
        "ledger.jsonl",
        "ledger.jsonl.lock",
        f"{bundle.path.name}/report.json",
    } <= files.keys()
    assert {name for name, mode in folders.items() if mode != 0o700} == set()
    assert {name for name, mode in files.items() if mode != 0o600} == set()
    for created in (tmp_path / "evidence", tmp_path / "evidence" / "tenant"):
        assert _mode(created) == 0o700


def test_a_bundle_in_progress_is_owner_only(open_umask: None, reports: Path, signer: Signer) -> None:
    """A crash leaves the `.partial` folder behind: it names the account too."""
    writer = BundleWriter(reports, signer, pdf=None)
    record = healthy()
    writer.begin(record.model_copy(update={"steps": [], "verdict": Verdict.INCOMPLETE, "reason": "running"}))
    writer.add_screenshot("sign-in page", b"\x89PNG\r\n\x1a\nnot really")

    assert writer.path.name.endswith(".partial")
    wanted = {".": 0o700, "screenshots": 0o700}
    assert {n: m for n, m in _modes(writer.path).items() if m != wanted.get(n, 0o600)} == {}


def test_a_folder_the_operator_shared_keeps_its_mode(
    open_umask: None, write_bundle: WriteBundle, reports: Path
) -> None:
    """Sharing is deliberate (reports/README.md); the drill never tightens an existing folder behind it."""
    reports.mkdir(parents=True)
    reports.chmod(0o750)

    bundle = write_bundle(healthy())

    assert _mode(reports) == 0o750
    assert _mode(bundle.path) == 0o700
    assert _mode(bundle.path / "report.json") == 0o600


def test_the_scheduler_sent_store_is_owner_only(open_umask: None, tmp_path: Path) -> None:
    """Its keys name the accounts; SQLite creates the database (and its -wal/-shm) under the umask."""
    state = tmp_path / "state" / "drill"
    store = SentStore(state / "sent.sqlite")
    reader = sqlite3.connect(state / "sent.sqlite")  # keeps the WAL files alive while we look
    try:
        reader.execute("SELECT COUNT(*) FROM sent").fetchone()
        assert store.claim("bg-primary:due-30", "bg-primary", 1, datetime(2026, 11, 25, tzinfo=UTC))
        names = sorted(p.name for p in state.iterdir())
        assert "sent.sqlite-wal" in names
        assert {p.name: _mode(p) for p in state.iterdir() if _mode(p) != 0o600} == {}
    finally:
        reader.close()
    assert _mode(state) == 0o700
    assert _mode(state.parent) == 0o700


def test_every_other_folder_the_drill_creates_is_private(open_umask: None, tmp_path: Path) -> None:
    """The ledger's folder, the signing key's, the JSON log's and a software key's, each two levels deep."""
    from drill.evidence import ledger
    from drill.logs import configure_logging

    signer = Signer.load(state_dir=tmp_path / "state" / "signing")
    ledger.append(tmp_path / "books" / "a" / "ledger.jsonl", {"kind": "note"}, signer)
    configure_logging(tmp_path / "logs" / "a" / "log.jsonl", console=False)
    made = [tmp_path / n for n in ("state", "state/signing", "books", "books/a", "logs", "logs/a")]
    assert {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in made} == {
        str(p.relative_to(tmp_path)): "0o700" for p in made
    }


def test_drill_report_output_is_owner_only(
    open_umask: None, write_bundle: WriteBundle, tmp_path: Path
) -> None:
    """Issue 29 item 10: `drill report -o` wrote the report 0644 (and under umask 0, 0666)."""
    from cli_support import run_cli

    bundle = write_bundle(healthy())
    target = tmp_path / "exports" / "tickets" / "drill.md"
    pin = ["--trust", bundle.fingerprint]
    code, _out, err = run_cli("report", str(bundle.path), "--format", "markdown", "-o", str(target), *pin)
    assert code == 0, err
    assert "**PASS**" in target.read_text(encoding="utf-8")
    assert _mode(target) == 0o600
    assert _mode(target.parent) == 0o700
    assert _mode(target.parent.parent) == 0o700

    shared = tmp_path / "shared.xml"  # an existing file the operator left world-readable: replaced privately
    shared.write_text("old")
    shared.chmod(0o644)
    code, _out, err = run_cli("report", str(bundle.path), "--format", "junit", "-o", str(shared), *pin)
    assert code == 0, err
    assert shared.read_text(encoding="utf-8").startswith("<?xml")
    assert _mode(shared) == 0o600
