"""Tampering: one byte changed in each file kind, a file deleted or added, ledger lines edited or moved.

`drill verify` must fail and name the file or the ledger line.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from evidence_support import WriteBundle
from records_support import failing, healthy
from typer.testing import CliRunner

from drill.cli import app
from drill.evidence.bundle import FinishedBundle
from drill.evidence.signing import Signer
from drill.evidence.verify import verify_bundle, verify_ledger

FILES = (
    "report.json",
    "report.html",
    "report.pdf",
    "report.schema.json",
    "log.jsonl",
    "public_key.pem",
    "screenshots/03-signin_page.png",
    "manifest.json",
    "manifest.sig",
)


@pytest.fixture
def three(write_bundle: WriteBundle) -> list[FinishedBundle]:
    return [
        write_bundle(healthy("drill-1"), [{"event": "hello"}]),
        write_bundle(failing("no_row", "drill-2")),
        write_bundle(healthy("drill-3")),
    ]


def _flip(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    # change one byte to another character of the same class so the file still parses where it can
    ch = data[i]
    if 48 <= ch <= 57:
        data[i] = 48 + (ch - 48 + 1) % 10
    elif 97 <= ch <= 122:
        data[i] = 97 + (ch - 97 + 1) % 26
    elif 65 <= ch <= 90:
        data[i] = 65 + (ch - 65 + 1) % 26
    else:
        data[i] = ch ^ 0x01
    path.write_bytes(bytes(data))


def _hex_offset(path: Path) -> int:
    """Inside the first SHA-256 value of manifest.json: still JSON, still canonical, different digest."""
    text = path.read_text()
    return text.index('"sha256": "') + len('"sha256": "') + 5


@pytest.mark.parametrize("name", FILES)
def test_one_changed_byte_is_named(three: list[FinishedBundle], name: str) -> None:
    folder = three[0].path
    target = folder / name
    assert target.is_file()
    offset = _hex_offset(target) if name == "manifest.json" else (10 if name == "manifest.sig" else None)
    _flip(target, offset)
    result = verify_bundle(folder)
    assert result.status == "INVALID"
    assert any(p.startswith(f"{name}:") for p in result.problems), result.problems
    out = CliRunner().invoke(app, ["verify", str(folder)])
    assert out.exit_code == 1
    assert f"{folder / name}:" in out.output


@pytest.mark.parametrize("name", ["report.html", "screenshots/01-preflight_page.png", "report.pdf"])
def test_deleted_file_is_named(three: list[FinishedBundle], name: str) -> None:
    (three[1].path / name).unlink()
    result = verify_bundle(three[1].path)
    assert result.status == "INVALID"
    assert f"{name}: listed in the manifest but missing (deleted)" in result.problems


@pytest.mark.parametrize("name", ["manifest.json", "manifest.sig"])
def test_deleted_manifest_makes_the_bundle_incomplete(three: list[FinishedBundle], name: str) -> None:
    (three[2].path / name).unlink()
    result = verify_bundle(three[2].path)
    assert result.status == "INCOMPLETE"
    assert any(p.startswith(f"{name}: missing") for p in result.problems)
    assert CliRunner().invoke(app, ["verify", str(three[2].path)]).exit_code == 3


def test_added_file_is_named(three: list[FinishedBundle]) -> None:
    (three[0].path / "screenshots" / "99-extra.png").write_bytes(b"\x89PNG extra")
    result = verify_bundle(three[0].path)
    assert "screenshots/99-extra.png: not listed in the manifest (added after signing)" in result.problems


def test_resigned_with_another_key_is_caught_by_the_ledger_and_by_pinning(
    three: list[FinishedBundle], tmp_path: Path
) -> None:
    from drill.evidence import manifest as m
    from drill.evidence.model import DrillRecord

    folder = three[0].path
    record = DrillRecord.model_validate_json((folder / "report.json").read_bytes())
    forger = Signer.generate()
    (folder / "public_key.pem").write_bytes(forger.public_pem())
    body = m.build(folder, record, forger, "rendered")
    (folder / "manifest.json").write_bytes(body)
    (folder / "manifest.sig").write_text(forger.sign(body) + "\n")
    assert verify_bundle(folder, check_ledger=False).status == "VALID"  # self-consistent
    result = verify_bundle(folder)  # the ledger beside it recorded the real manifest
    assert any("manifest.json: SHA-256 differs from" in p for p in result.problems)
    pinned = verify_bundle(folder, trusted={"SHA256:someone-else"}, check_ledger=False)
    assert any("not a trusted key" in p for p in pinned.problems)


def test_copied_bundle_elsewhere_still_verifies(three: list[FinishedBundle], tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "drill-1"
    shutil.copytree(three[0].path, copy)
    assert verify_bundle(copy).status == "VALID"


def _ledger(three: list[FinishedBundle]) -> Path:
    return three[0].ledger_path


def test_ledger_line_edited_is_named(three: list[FinishedBundle]) -> None:
    path = _ledger(three)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"verdict":"FAIL"', b'"verdict":"PASS"')
    path.write_bytes(b"".join(lines))
    report = verify_ledger(path)
    assert not report.ok
    assert report.problems[0].startswith(f"{path}:2: signature does not verify")
    assert report.problems[1].startswith(f"{path}:3: hash chain broken")
    out = CliRunner().invoke(app, ["verify", "--ledger", str(path)])
    assert out.exit_code == 1
    assert f"{path}:2:" in out.output


def test_last_ledger_line_edited_is_named(three: list[FinishedBundle]) -> None:
    path = _ledger(three)
    data = path.read_bytes()
    i = data.rindex(b'"time_to_row_s":') + len(b'"time_to_row_s":')
    path.write_bytes(data[:i] + b"7" + data[i + 1 :])  # 129.0 -> 729.0
    report = verify_ledger(path)
    assert [p.split(": ", 1)[0] for p in report.problems] == [f"{path}:3"]


def test_ledger_lines_reordered_are_named(three: list[FinishedBundle]) -> None:
    path = _ledger(three)
    a, b, c = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b + a + c)
    problems = verify_ledger(path).problems
    assert problems[0].startswith(f"{path}:1: sequence number 2, expected 1")


def test_ledger_line_removed_is_named(three: list[FinishedBundle]) -> None:
    path = _ledger(three)
    a, _, c = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(a + c)
    assert verify_ledger(path).problems[0].startswith(f"{path}:2: sequence number 3, expected 2")


def test_ledger_reformatted_line_is_named(three: list[FinishedBundle]) -> None:
    path = _ledger(three)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b'","', b'", "', 1)
    path.write_bytes(b"".join(lines))
    assert verify_ledger(path).problems[0].startswith(f"{path}:1: not in canonical form")


def test_bundle_and_ledger_disagree(three: list[FinishedBundle]) -> None:
    # a bundle swapped for another valid bundle of the same id is caught via the ledger's manifest hash
    other = three[1].path
    (other / "manifest.json").write_bytes((other / "manifest.json").read_bytes() + b" ")
    problems = verify_ledger(_ledger(three)).problems
    assert problems == [f"{_ledger(three)}:2: bundle drill-2/manifest.json does not match this line"]
