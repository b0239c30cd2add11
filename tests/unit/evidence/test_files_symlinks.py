"""Issue 17 item 10: a link planted at a temp or lock name must never redirect a write outside the folder.

The names planted here are the ones the writers used to pick (`.<name>.<pid>.tmp`, `<ledger>.lock`): an
attacker who can write to the reports folder could predict them and point them at any file of the operator.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from evidence_support import WriteBundle
from records_support import healthy

from drill.errors import DrillUserError
from drill.evidence import ledger
from drill.evidence.signing import Signer
from drill.evidence.verify import verify_bundle, verify_ledger
from drill.fsutil import atomic_write

pytestmark = pytest.mark.skipif(os.name != "posix", reason="symbolic links need POSIX here")

PRECIOUS = b"the operator's own file, outside the reports folder\n"


def _outside(tmp_path: Path) -> Path:
    victim = tmp_path / "elsewhere" / "precious.txt"
    victim.parent.mkdir()
    victim.write_bytes(PRECIOUS)
    victim.chmod(0o644)
    return victim


def _plant(folder: Path, name: str, target: Path) -> Path:
    """A link at the temp name the old writer derived from the destination's name and our pid."""
    link = folder / f".{name}.{os.getpid()}.tmp"
    link.symlink_to(target)
    return link


def _temp_leftovers(folder: Path, planted: set[Path]) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp") and p not in planted]


def test_atomic_write_does_not_follow_a_link_at_the_temp_name(tmp_path: Path) -> None:
    victim = _outside(tmp_path)
    folder = tmp_path / "reports"
    folder.mkdir()
    link = _plant(folder, "ledger.jsonl", victim)
    (folder / "ledger.jsonl").symlink_to(victim)  # a link at the destination is replaced, not written through

    atomic_write(folder / "ledger.jsonl", b"new ledger bytes\n")

    assert victim.read_bytes() == PRECIOUS
    assert victim.stat().st_mode & 0o777 == 0o644
    written = folder / "ledger.jsonl"
    assert not written.is_symlink()
    assert written.read_bytes() == b"new ledger bytes\n"
    assert link.is_symlink()  # left alone, not written through
    assert _temp_leftovers(folder, {link}) == []


def test_ledger_lock_planted_as_a_link_is_refused_with_a_clear_error(tmp_path: Path, signer: Signer) -> None:
    """The old lock open (O_CREAT, following links) created the link's target wherever it pointed."""
    folder = tmp_path / "reports"
    folder.mkdir()
    book = folder / "ledger.jsonl"
    ledger.append(book, {"kind": ledger.KIND_KEYLESS_CHECK, "account": "bg-primary"}, signer)
    before = book.read_bytes()
    (folder / "ledger.jsonl.lock").unlink()
    target = tmp_path / "elsewhere" / "created-by-the-drill"
    target.parent.mkdir()
    (folder / "ledger.jsonl.lock").symlink_to(target)

    with pytest.raises(DrillUserError, match=r"ledger\.jsonl\.lock: the ledger lock is a symbolic link"):
        ledger.append(book, {"kind": ledger.KIND_KEYLESS_CHECK, "account": "bg-primary"}, signer)

    assert not os.path.lexists(target)
    assert book.read_bytes() == before


def test_ledger_lock_link_to_an_existing_file_leaves_that_file_untouched(
    tmp_path: Path, signer: Signer
) -> None:
    victim = _outside(tmp_path)
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "ledger.jsonl.lock").symlink_to(victim)

    with pytest.raises(DrillUserError, match="symbolic link"):
        ledger.append(folder / "ledger.jsonl", {"kind": ledger.KIND_KEYLESS_CHECK}, signer)

    assert victim.read_bytes() == PRECIOUS
    assert victim.stat().st_mode & 0o777 == 0o644
    assert not (folder / "ledger.jsonl").exists()


def test_a_drill_with_links_planted_at_every_old_temp_name_overwrites_nothing_outside(
    write_bundle: WriteBundle, reports: Path, tmp_path: Path
) -> None:
    """The reported attack, end to end: links at the ledger's and README's temp names before a real drill."""
    victim = _outside(tmp_path)
    reports.mkdir(parents=True)
    planted = {_plant(reports, name, victim) for name in ("ledger.jsonl", "README.md")}

    bundle = write_bundle(healthy())

    assert victim.read_bytes() == PRECIOUS
    assert victim.stat().st_mode & 0o777 == 0o644
    assert verify_bundle(bundle.path).status == "VALID"
    report = verify_ledger(reports / "ledger.jsonl")
    assert report.ok, report.problems
    assert [e["drill_id"] for e in report.entries] == [healthy().drill_id]
    assert _temp_leftovers(reports, planted) == []


def test_a_history_folder_replaced_by_a_link_is_not_written_through(
    write_bundle: WriteBundle, reports: Path, tmp_path: Path
) -> None:
    """Issue 29 item 9: `reports/history` swapped for a link to a folder elsewhere, between two drills.

    On main the next drill wrote `bg-primary.html` through the link, replacing the file of that name there.
    """
    write_bundle(healthy("drill-20261125-060000-bg1"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "bg-primary.html"
    victim.write_bytes(PRECIOUS)
    shutil.rmtree(reports / "history")
    (reports / "history").symlink_to(elsewhere, target_is_directory=True)

    second = write_bundle(healthy("drill-20261126-060000-bg1"))

    assert victim.read_bytes() == PRECIOUS
    assert sorted(p.name for p in elsewhere.iterdir()) == ["bg-primary.html"]  # no temp file either
    assert second.history_page is None
    assert any(
        line.startswith("history page not written:") and "is a symbolic link, refused" in line
        for line in second.summary()
    )
    assert verify_bundle(second.path).status == "VALID"  # the evidence itself is whole
    assert [e["drill_id"] for e in ledger.read_entries(second.ledger_path)][-1] == second.path.name

    (reports / "history").unlink()  # the operator removes the plant: the next drill recreates the folder
    third = write_bundle(healthy("drill-20261127-060000-bg1"))
    assert third.history_page == reports / "history" / "bg-primary.html"
    assert not (reports / "history").is_symlink()


def test_private_subdir_refuses_a_link_or_a_file_and_makes_a_private_folder(tmp_path: Path) -> None:
    from drill.fsutil import LinkRefused, private_subdir

    root = tmp_path / "reports"
    made = private_subdir(root, "history")
    assert made == root / "history"
    assert made.stat().st_mode & 0o777 == 0o700
    assert private_subdir(root, "history") == made  # an existing real folder is fine
    (root / "linked").symlink_to(tmp_path)
    (root / "file").write_bytes(b"")
    with pytest.raises(LinkRefused, match="is a symbolic link, refused"):
        private_subdir(root, "linked")
    with pytest.raises(LinkRefused, match="is not a folder"):
        private_subdir(root, "file")
