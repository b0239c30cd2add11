"""Issue 29 items 5 and 6: a filed copy is real files where the receipt says, or it is no copy at all.

Reproduced on main before the fix:
- item 5: a share pre-filled with symbolic links to the primary bundle made `drill file` answer "already
  there", exit 0, and sign a `filing` receipt, while the share held only links;
- item 6: a filed copy copied on to a folder it was never filed to verified (`drill verify COPY --ledger
  --trust`, exit 0) on the strength of the first folder's receipt.
Each attack here uses real folders and the real `drill file` / `drill verify` commands.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import run_cli
from evidence_support import WriteBundle, folder_playbook
from records_support import healthy

from drill.evidence import ledger, manifest
from drill.evidence.filing import KIND_FILING, Receipt, receipt_entry
from drill.evidence.signing import Signer
from drill.run.file_evidence import KIND_FILING_FAILED

pytestmark = pytest.mark.skipif(os.name != "posix", reason="symbolic links need POSIX here")

DRILL = "drill-20261125-060000-bg1"


def _files(bundle: Path) -> list[Path]:
    return sorted(p for p in bundle.rglob("*") if p.is_file())


def links_to_every_file(bundle: Path, share: Path) -> None:
    """Real folders, every file a link to the primary's."""
    for src in _files(bundle):
        dst = share / bundle.name / src.relative_to(bundle)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(src)


def link_to_the_bundle(bundle: Path, share: Path) -> None:
    """The copy's folder itself a link to the primary bundle."""
    share.mkdir()
    (share / bundle.name).symlink_to(bundle)


def one_linked_subfolder(bundle: Path, share: Path) -> None:
    """Real files, but `screenshots/` a link to the primary's."""
    copy = share / bundle.name
    shutil.copytree(bundle, copy, ignore=shutil.ignore_patterns(manifest.SCREENSHOTS))
    (copy / manifest.SCREENSHOTS).symlink_to(bundle / manifest.SCREENSHOTS)


def share_is_the_reports_folder(bundle: Path, share: Path) -> None:
    """The filing folder a link back to the reports folder: the "copy" is the primary itself."""
    share.symlink_to(bundle.parent)


PLANTS: list[Callable[[Path, Path], None]] = [
    links_to_every_file,
    link_to_the_bundle,
    one_linked_subfolder,
    share_is_the_reports_folder,
]


@pytest.mark.parametrize("plant", PLANTS, ids=lambda f: f.__name__)
def test_a_share_prefilled_with_links_is_not_filed(
    plant: Callable[[Path, Path], None],
    write_bundle: WriteBundle,
    signer: Signer,
    tmp_path: Path,
) -> None:
    done = write_bundle(healthy(DRILL))
    share = tmp_path / "share"
    plant(done.path, share)
    playbook = folder_playbook(tmp_path, share, signer)

    code, out, err = run_cli("file", str(done.path), "--playbook", str(playbook))

    assert code == 1, out + err
    assert "(already there)" not in out
    assert "FILING FAILED" in err
    assert "symbolic link" in err
    assert ledger.read_entries(done.ledger_path, kind=KIND_FILING) == []  # no receipt signed
    [failed] = ledger.read_entries(done.ledger_path, kind=KIND_FILING_FAILED)
    assert "symbolic link" in failed["reason"]


def test_a_real_copy_already_there_is_still_recognised(
    write_bundle: WriteBundle, signer: Signer, tmp_path: Path
) -> None:
    """Idempotence holds for what is really a copy: the same regular files, byte for byte."""
    done = write_bundle(healthy(DRILL))
    share = tmp_path / "share"
    share.mkdir()
    shutil.copytree(done.path, share / DRILL)
    playbook = folder_playbook(tmp_path, share, signer)

    code, out, err = run_cli("file", str(done.path), "--playbook", str(playbook))

    assert code == 0, out + err
    assert "(already there)" in out
    [receipt] = ledger.read_entries(done.ledger_path, kind=KIND_FILING)
    assert receipt["already_filed"] is True
    assert receipt["location"] == str((share / DRILL).resolve())


def test_a_copy_that_differs_by_one_byte_is_not_already_there(
    write_bundle: WriteBundle, signer: Signer, tmp_path: Path
) -> None:
    done = write_bundle(healthy(DRILL))
    share = tmp_path / "share"
    share.mkdir()
    shutil.copytree(done.path, share / DRILL)
    shot = next((share / DRILL / manifest.SCREENSHOTS).iterdir())
    shot.write_bytes(shot.read_bytes()[:-1] + b"\x00")

    playbook = folder_playbook(tmp_path, share, signer)
    code, out, err = run_cli("file", str(done.path), "--playbook", str(playbook))

    assert code == 1, out
    assert "holds a different bundle" in err
    assert ledger.read_entries(done.ledger_path, kind=KIND_FILING) == []


def test_a_copy_where_it_was_never_filed_has_no_receipt(
    write_bundle: WriteBundle, signer: Signer, tmp_path: Path
) -> None:
    done = write_bundle(healthy(DRILL))
    share = tmp_path / "share"
    playbook = folder_playbook(tmp_path, share, signer)
    code, out, err = run_cli("file", str(done.path), "--playbook", str(playbook))
    assert code == 0, out + err
    pin = ["--ledger", str(done.ledger_path), "--trust", signer.fingerprint]
    code, out, _err = run_cli("verify", str(share / DRILL), *pin)
    assert code == 0, out
    assert "receipt:" in out

    (tmp_path / "mount").symlink_to(share)  # the filed copy itself, reached another way: still receipted
    code, out, _err = run_cli("verify", str(tmp_path / "mount" / DRILL), *pin)
    assert code == 0, out

    elsewhere = tmp_path / "never-filed-here"
    elsewhere.mkdir()
    shutil.copytree(share / DRILL, elsewhere / DRILL)
    code, out, _err = run_cli("verify", str(elsewhere / DRILL), *pin)
    assert code == 1, out
    assert f"VALID: {elsewhere / DRILL}" in out  # the bytes are fine; where they are is not receipted
    assert f"no filing receipt for drill {DRILL} with this manifest at {(elsewhere / DRILL).resolve()}" in out
    assert "receipt:" not in out

    # a receipt for that place (the real manifest hash), signed by someone else's key, does not count either
    fake = Receipt(f"folder {elsewhere}", str((elsewhere / DRILL).resolve()), done.manifest_sha256)
    ledger.append(done.ledger_path, receipt_entry(DRILL, fake), Signer.generate())
    code, out, _err = run_cli("verify", str(elsewhere / DRILL), *pin)
    assert code == 1
    assert "receipt:" not in out
    assert "no filing receipt" in out
