"""The scheduler runs the permission self-check before its daily audit: a missing grant is one notice line
naming it, the audit does not run (its ERRORs would only repeat the grant), and `--once` exits 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from schedule_support import FakeClock, RecordingNotifier

from drill.evidence.signing import Signer
from drill.playbook import Playbook
from drill.schedule.scheduler import ScheduleRuntime, Target

LINE = "the observer (x) lacks Policy.Read.All (Microsoft Graph application permission) at the tenant: fix"


def _runtime(pb: Playbook, tmp_path: Path, clock: FakeClock, notifier: RecordingNotifier, signer: Signer,
             lines: list[str], audited: list[Any]) -> ScheduleRuntime:  # fmt: skip
    def readers(_pb: Playbook) -> list[Any]:
        audited.append(_pb)
        return []

    return ScheduleRuntime(
        [Target(pb, tmp_path / "ledger.jsonl", [notifier])], tmp_path / "state", signer, clock=clock,
        audit_readers_for=readers, permissions_for=lambda _pb: list(lines),
    )  # fmt: skip


def test_a_missing_grant_is_one_notice_and_no_audit(
    make_playbook: Callable[..., Playbook], clock: FakeClock, notifier: RecordingNotifier, signer: Signer,
    tmp_path: Path,
) -> None:  # fmt: skip
    pb = make_playbook(accounts=("bg-1",))
    audited: list[Any] = []
    rt = _runtime(pb, tmp_path, clock, notifier, signer, [LINE], audited)
    assert rt.run_audit(str(pb.tenant.id)) is None
    assert audited == []
    assert rt.blocked[str(pb.tenant.id)] == [LINE]
    [notice] = notifier.notices
    assert "Missing permission" in notice.subject
    assert notice.body.splitlines()[0] == f"- {LINE}"


def test_every_grant_present_lets_the_audit_run(
    make_playbook: Callable[..., Playbook], clock: FakeClock, notifier: RecordingNotifier, signer: Signer,
    tmp_path: Path,
) -> None:  # fmt: skip
    pb = make_playbook(accounts=("bg-1",))
    audited: list[Any] = []
    rt = _runtime(pb, tmp_path, clock, notifier, signer, [], audited)
    assert rt.run_audit(str(pb.tenant.id)) is not None
    assert audited == [pb]
    assert not any("Missing permission" in n.subject for n in notifier.notices)
