"""Due dates come only from ledger lines signed by the pinned key (issue 17 item 2).

Reproduces the attack: a PASS line signed by another key, and an unsigned hand-written PASS line, used to
count as drills in `drill schedule status` and in the scheduler, so an account never drilled looked done
and nobody was reminded. Now both are reported as tampering and count as no drill: the account escalates.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drill.evidence import ledger
from drill.evidence.signing import Signer
from drill.playbook import Playbook, load_playbook
from drill.schedule.notify import Notice
from drill.schedule.scheduler import ScheduleRuntime, Target

TENANT = "0c5e1f4a-9d2b-4c71-8e36-5a8f0b7d2e91"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PLAYBOOK = (
    f"""\
tenant: {{id: {TENANT}, primary_domain: contoso.onmicrosoft.com}}
accounts:
"""
    + "".join(
        f"""\
  - name: {name}
    upn: {name}@contoso.onmicrosoft.com
    object_id: 11111111-2222-4333-8444-5555555555{i:02d}
    key: {{aaguids: [ee882879-721c-4913-9775-3dfcce97072a], label: K, vendor: Yubico}}
    storage_location: Safe A
    authorised_people: [Alice]
"""
        for i, name in enumerate(("bg-1", "bg-2", "bg-3"), 1)
    )
    + """\
observer: {kind: azure-cli}
log_analytics: {workspace_id: 7d3c2b1a-0f9e-4d8c-b7a6-95e4d3c2b1a0, alert_query_file: alert.kql}
alert: {mailbox: soc@contoso.com, subject_match: Emergency}
schedule: {cycle_days: 180, reminder_lead_days: [30, 7, 1]}
"""
)


def _line(account: str, ended: datetime) -> dict[str, Any]:
    return {
        "kind": "drill",
        "drill_id": f"{account}-{ended:%Y%m%d}",
        "account": account,
        "tenant_id": TENANT,
        "verdict": "PASS",
        "reason": "every required step and check passed",
        "started_at": (ended - timedelta(minutes=20)).isoformat(),
        "ended_at": ended.isoformat(),
        "bundle": f"{account}-{ended:%Y%m%d}",
        "manifest_sha256": "0" * 64,
    }


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Playbook, Path, Signer]:
    """bg-1 drilled for real; bg-2 'passed' by a line another key signed; bg-3 by an unsigned line."""
    state = tmp_path / "workstation"
    monkeypatch.setenv("DRILL_STATE_DIR", str(state))
    workstation = Signer.load(state_dir=state)
    (tmp_path / "alert.kql").write_text("SigninLogs | take 1\n", encoding="utf-8")
    (tmp_path / "playbook.yaml").write_text(PLAYBOOK, encoding="utf-8")
    pb = load_playbook(tmp_path / "playbook.yaml")
    book = tmp_path / "reports" / "ledger.jsonl"
    ledger.append(book, _line("bg-1", NOW - timedelta(days=10)), workstation)
    ledger.append(book, _line("bg-2", NOW - timedelta(days=5)), Signer.generate())  # chains fine
    prev = ledger.line_hash(book.read_bytes().splitlines()[-1])
    forged = {**_line("bg-3", NOW - timedelta(days=2)), "seq": 3, "prev": prev}
    with book.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(forged) + "\n")  # unsigned, not canonical: it used to show only as a "problem"
    return pb, book, workstation


def _status(*args: str) -> tuple[int, str]:
    from drill.cli import main

    out = io.StringIO()
    old, sys.argv = sys.argv, ["drill", "schedule", "status", *args]
    code: Any = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            main()
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = old
    return code or 0, out.getvalue()


def test_status_counts_only_lines_signed_by_the_workstation_key(
    setup: tuple[Playbook, Path, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    pb, book, _ = setup
    assert pb.source is not None
    code, out = _status(str(pb.source), "--ledger", str(book), "--as-of", NOW.isoformat(), "--json")
    assert code == 0
    rows = {r["account"]: r for r in json.loads(out)}
    assert rows["bg-1"]["verdict"] == "PASS"
    assert rows["bg-1"]["overdue"] is False
    for forged in ("bg-2", "bg-3"):
        assert rows[forged]["last_pass_at"] is None, forged
        assert rows[forged]["last_drill_id"] is None, forged
        assert rows[forged]["overdue"] is True, forged
    problems = " ".join(rows["bg-1"]["ledger_problems"])
    assert "not a trusted key" in problems
    assert "unsigned line" in problems or "not in canonical form" in problems
    monkeypatch.setenv("COLUMNS", "250")
    code, out = _status(str(pb.source), "--ledger", str(book), "--as-of", NOW.isoformat())
    assert "TAMPERING" in out
    assert "count as no drill" in " ".join(out.split())


def test_status_pins_the_playbook_key_when_it_names_one(
    setup: tuple[Playbook, Path, Signer], tmp_path: Path
) -> None:
    """With `evidence.signing_key` that key is the anchor: lines the workstation key signed do not count."""
    pb, book, _ = setup
    key = tmp_path / "evidence-key.pem"
    playbook_signer = Signer.load(state_dir=tmp_path / "elsewhere")
    key.write_bytes(Path(playbook_signer.source).read_bytes())
    key.chmod(0o600)
    assert pb.source is not None
    text = pb.source.read_text(encoding="utf-8") + f"evidence: {{signing_key: {key}}}\n"
    pb.source.write_text(text, encoding="utf-8")
    code, out = _status(str(pb.source), "--ledger", str(book), "--as-of", NOW.isoformat(), "--json")
    assert code == 0
    rows = {r["account"]: r for r in json.loads(out)}
    assert all(r["last_pass_at"] is None for r in rows.values())


class _Recorder:
    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def send(self, notice: Notice) -> None:
        self.notices.append(notice)


def test_scheduler_escalates_accounts_whose_only_pass_is_forged(
    setup: tuple[Playbook, Path, Signer], tmp_path: Path
) -> None:
    pb, book, workstation = setup
    sink = _Recorder()
    rt = ScheduleRuntime([Target(pb, book, [sink])], tmp_path / "state", workstation, clock=lambda: NOW)
    rt.check_reminders()
    subjects = [n.subject for n in sink.notices]
    assert "[breakglass-drill] The drill ledger does not verify" in subjects
    assert "[breakglass-drill] OVERDUE: bg-2 has no passing break-glass drill" in subjects
    assert "[breakglass-drill] OVERDUE: bg-3 has no passing break-glass drill" in subjects
    assert not any("bg-1" in s for s in subjects)  # drilled ten days ago, for real
    broken = next(n for n in sink.notices if "does not verify" in n.subject)
    assert "count as no drill" in broken.body
