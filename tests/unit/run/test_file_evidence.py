"""Filing output and the live post-drill questions: loud, escaped, recorded; no answer is not a yes."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from drill.evidence import ledger
from drill.evidence.filing import FilingError, Receipt
from drill.evidence.signing import Signer
from drill.run import live
from drill.run.file_evidence import KIND_FILING_FAILED, file_and_report


class _Refusing:
    """A filer whose service answers with terminal control sequences in its error text."""

    def describe(self) -> str:
        return "SharePoint https://contoso.sharepoint.com/sites/x"

    def file(self, bundle: Path, check: object) -> Receipt:
        raise FilingError("HTTP 403 \x1b[2J\x1b[32mPASS\x1b[0m\rforged line")


def test_failure_is_loud_escaped_and_a_signed_ledger_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = Signer.load(state_dir=tmp_path / "state")
    book = tmp_path / "ledger.jsonl"
    bundle = tmp_path / "drill-x"
    monkeypatch.setattr("drill.run.file_evidence.file_bundle", _fake_file_bundle)
    [result] = file_and_report(bundle, [_Refusing()], signer, book, "drill file X --playbook P")
    assert not result.ok
    err = capsys.readouterr().err
    assert "FILING FAILED: SharePoint" in err
    assert "retry: drill file X --playbook P" in err
    assert "\x1b" not in err
    assert "\r" not in err
    [line] = ledger.read_entries(book, kind=KIND_FILING_FAILED)
    assert line["drill_id"] == "drill-x"
    assert "403" in line["reason"]
    assert ledger.verify(book, {signer.fingerprint}).ok


def _fake_file_bundle(bundle: Path, filers: list[_Refusing], signer: Signer, book: Path) -> list[object]:
    from drill.evidence.filing import FilingResult

    out = []
    for filer in filers:
        try:
            filer.file(bundle, None)
        except FilingError as exc:
            out.append(FilingResult(filer.describe(), False, str(exc)))
    return out


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (["y", "SEAL-9", "y"], [True, True]),
        (["n", "n"], [False, False]),
        ([click.exceptions.Abort(), click.exceptions.Abort()], [False, False]),
    ],
)
def test_live_post_drill_questions(
    answers: list[object], expected: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = list(answers)

    def prompt(_question: str, **_kw: object) -> str:
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return str(answer)

    monkeypatch.setattr("typer.prompt", prompt)
    got = live.post_drill_confirmations("Alex", "Safe 3")
    assert [c.confirmed for c in got] == expected
    assert all(c.by == "Alex" for c in got)
    if expected[0]:
        assert got[0].detail == "seal id SEAL-9"


def test_a_bundle_this_key_did_not_sign_leaves_no_ledger_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from drill.evidence.filing import FolderFiler

    signer = Signer.load(state_dir=tmp_path / "state")
    book = tmp_path / "reports" / "ledger.jsonl"
    planted = tmp_path / "reports" / "drill-planted"
    planted.mkdir(parents=True)
    (planted / "manifest.json").write_text("{}\n")
    [result] = file_and_report(planted, [FolderFiler(tmp_path / "share")], signer, book, "retry")
    assert not result.ok
    assert "FILING FAILED" in capsys.readouterr().err
    assert not book.exists()  # nothing signed about a bundle we did not write
