"""A ledger rolled back to before an `unplanned-use` line (issue 29, item 8), with real files.

The chain cannot show a cut-off tail, so the scheduler keeps the head it last wrote in its own signed,
owner-only state file; `drill schedule status` and the next watch report a ledger that no longer holds it,
and the daily check fails closed. Appends made after the scheduler's (a drill, a review) are no rollback.
A watch blind to a required table fails closed the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cli_support import run_cli
from schedule_support import FakeClock, RecordingNotifier, drill_line

from drill.evidence import ledger
from drill.evidence.signing import Signer
from drill.playbook import Playbook
from drill.schedule.scheduler import ScheduleRuntime, Target
from drill.schedule.watch import Activity, Coverage, Reading


class _Seen:
    """The activity the workspace holds (a stand-in for the observer's query: this test is about files)."""

    def __init__(self, rows: list[Activity]) -> None:
        self.rows = rows

    def activity(self, user_ids: Any, since: datetime, until: datetime) -> Reading:
        rows = [a for a in self.rows if since <= a.at <= until and a.user_id in user_ids]
        return Reading(rows, Coverage(("SigninLogs", "AADNonInteractiveUserSignInLogs", "AuditLogs")))


def status(playbook: Playbook, path: Path, state: Path, *extra: str) -> tuple[int, str]:
    code, out, err = run_cli("schedule", "status", str(playbook.source), "--ledger", str(path),
                             "--state", str(state), *extra)  # fmt: skip
    assert code == 0, err
    return code, " ".join(out.split())


def test_a_rolled_back_ledger_is_reported_not_shown_as_no_unreviewed_use(
    make_playbook: Callable[..., Playbook], clock: FakeClock, signer: Signer, tmp_path: Path
) -> None:
    pb = make_playbook(accounts=("bg-1",))
    tid, user = str(pb.tenant.id), str(pb.accounts[0].object_id)
    path, state = tmp_path / "reports" / "ledger.jsonl", tmp_path / "state"
    ledger.append(path, drill_line("bg-1", "PASS", clock.now - timedelta(days=10), tenant=tid), signer)
    before = path.read_bytes()
    seen = _Seen([Activity("SigninLogs", "row-1", "c-1", clock.now - timedelta(hours=5), user, "Sign-in")])
    recording = RecordingNotifier()

    def watch() -> Any:
        rt = ScheduleRuntime([Target(pb, path, [recording])], state, signer, clock=clock,
                             activity_for=lambda _: seen)  # fmt: skip
        return rt.watch_unplanned(tid)

    assert watch().found  # the use is ledgered, and the scheduler keeps the head it wrote
    records = list(state.glob("watch-*.json"))
    assert len(records) == 1
    assert records[0].stat().st_mode & 0o777 == 0o600
    row = json.loads(status(pb, path, state, "--json")[1])[0]
    assert len(row["unreviewed_unplanned_use"]) == 1
    assert row["ledger_rolled_back"] is None

    # A review appended later (another writer) is not a rollback: no false alarm.
    use_id = row["unreviewed_unplanned_use"][0]
    code, _out, err = run_cli("review", use_id, "--classification", "emergency", "--notes", "INC-7",
                              "--playbook", str(pb.source), "--ledger", str(path))  # fmt: skip
    assert code == 0, err
    assert "ROLLED BACK" not in status(pb, path, state)[1]

    # The attack: the ledger rolled back to before the unplanned-use line (a valid, shorter ledger).
    path.write_bytes(before)
    assert ledger.verify(path, {signer.fingerprint}).ok
    row = json.loads(status(pb, path, state, "--json")[1])[0]
    assert row["unreviewed_unplanned_use"] == []
    assert "no longer holds that line" in row["ledger_rolled_back"]
    shown = status(pb, path, state)[1]
    assert "LEDGER ROLLED BACK?" in shown
    assert "'no unreviewed use' cannot be trusted" in shown

    # The next daily check fails closed and says so once a day, even after re-ledgering the use it still
    # sees; the rollback stays reported (the recorded head is kept) until the ledger holds it again.
    clock.advance(timedelta(hours=1))
    outcome = watch()
    assert not outcome.ok
    assert [kind for kind, _ in outcome.problems] == ["rollback"]
    assert "[breakglass-drill] The drill ledger was rolled back" in [n.subject for n in recording.notices]
    assert [kind for kind, _ in watch().problems] == ["rollback"]
    subjects = [n.subject for n in recording.notices]
    assert subjects.count("[breakglass-drill] The drill ledger was rolled back") == 1
    assert "LEDGER ROLLED BACK?" in status(pb, path, state)[1]

    # An edited state file is not believed: status says so instead of trusting or ignoring it.
    record = json.loads(records[0].read_text())
    record["head"] = ledger.head_of(path)
    records[0].write_text(json.dumps(record))
    shown = status(pb, path, state)[1]
    assert "signature does not verify" in shown
    assert not watch().ok


def test_a_watch_that_cannot_see_signins_fails_closed_and_says_which_table(
    make_playbook: Callable[..., Playbook], clock: FakeClock, signer: Signer, tmp_path: Path
) -> None:
    """No diagnostic setting sends SignInLogs: an empty result is not 'no use' (the check fails, once a
    day), and an unreadable setting leaves the non-interactive table reported, not silently skipped."""
    from drill.schedule.watch import coverage_of

    pb = make_playbook(accounts=("bg-1",))
    tid, path, state = str(pb.tenant.id), tmp_path / "reports" / "ledger.jsonl", tmp_path / "state"

    class Blind:
        def activity(self, user_ids: Any, since: datetime, until: datetime) -> Reading:
            return Reading([], coverage_of({"AuditLogs", "NonInteractiveUserSignInLogs"}))

    recording = RecordingNotifier()
    rt = ScheduleRuntime([Target(pb, path, [recording])], state, signer, clock=clock,
                         activity_for=lambda _: Blind())  # fmt: skip
    outcome = rt.watch_unplanned(tid)
    assert not outcome.ok
    assert [kind for kind, _ in outcome.problems] == ["blind"]
    assert rt.watch_unplanned(tid).notices == []  # once a day
    assert [n.subject for n in recording.notices] == [
        "[breakglass-drill] The unplanned-use watch cannot see every table it needs"
    ]
    shown = status(pb, path, state)[1]
    assert "SigninLogs NOT covered: no Entra diagnostic setting sends SignInLogs to the workspace" in shown
    unknown = coverage_of(None, "403 from ARM")
    assert unknown.read == ("SigninLogs", "AuditLogs")
    assert "unknown (403 from ARM)" in unknown.not_read["AADNonInteractiveUserSignInLogs"]
