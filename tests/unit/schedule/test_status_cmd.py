"""`drill schedule status` against one ledger holding two tenants, several accounts and every verdict."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cli_support import run_cli
from schedule_support import OTHER_TENANT, T0, TENANT, drill_line

from drill.playbook import Playbook

AS_OF = (T0 + timedelta(days=200)).isoformat()  # 2026-07-29 09:00 UTC


@pytest.fixture
def two_tenants(
    make_playbook: Callable[..., Playbook], write_ledger: Callable[..., Path], tmp_path: Path
) -> tuple[Path, Path, Path]:
    a = make_playbook(accounts=("bg-1", "bg-2", "bg-3", "bg-4"), cycle_days=180, name="a.yaml")
    b = make_playbook(accounts=("ea-1",), cycle_days=90, tenant=OTHER_TENANT, name="b.yaml")
    path = write_ledger(
        drill_line("bg-1", "PASS", T0 + timedelta(days=100), drill_id="d-bg1"),  # due day 280: 80 days left
        drill_line("bg-2", "PASS", T0, drill_id="d-bg2-pass"),  # due day 180: 20 days overdue
        drill_line("bg-2", "FAIL", T0 + timedelta(days=190), drill_id="d-bg2-fail"),
        drill_line("bg-3", "INCOMPLETE", T0 + timedelta(days=10), drill_id="d-bg3"),  # never passed
        drill_line("ea-1", "PASS", T0 + timedelta(days=110), tenant=OTHER_TENANT, drill_id="d-ea1"),  # 0 days
        {
            "kind": "keyless-check",
            "tenant_id": TENANT,
            "checked_at": (T0 + timedelta(days=199, hours=-3)).isoformat(),
            "status": "fail",
            "checks": [
                {"id": "observer_mailbox", "status": "fail"},
                {"id": "observer_logs", "status": "pass"},
            ],
        },
    )
    assert a.source is not None
    assert b.source is not None
    return a.source, b.source, path


def _rows(stdout: str) -> dict[str, list[str]]:
    """Table rows by account name, cells stripped (rich draws │ between cells)."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        accounts = {"bg-1", "bg-2", "bg-3", "bg-4", "ea-1"}
        if len(cells) == 7 and cells[1] in accounts:  # several tenants: a Tenant column first
            rows[cells[1]] = cells
        elif len(cells) == 6 and cells[0] in accounts:
            rows[cells[0]] = cells
    return rows


def test_status_table_per_account(
    two_tenants: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, ledger = two_tenants
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run_cli("schedule", "status", str(a), str(b), "--ledger", str(ledger), "--as-of", AS_OF)
    assert (code, err) == (0, "")
    assert "Break-glass drill schedule as of 2026-07-29 09:00 UTC" in out
    rows = _rows(out)
    keyless_a = "2026-07-28 06:00 FAIL (observer_mailbox)"
    d = "contoso.onmicrosoft.com"
    assert rows == {
        "bg-1": [d, "bg-1", "2026-04-20 d-bg1", "PASS", "2026-10-17", "80 days", keyless_a],
        "bg-2": [d, "bg-2", "2026-07-19 d-bg2-fail", "FAIL", "2026-07-09", "OVERDUE by 20 days", keyless_a],
        "bg-3": [
            d,
            "bg-3",
            "2026-01-20 d-bg3",
            "INCOMPLETE",
            "now (no PASS)",
            "OVERDUE (never passed)",
            keyless_a,
        ],
        "bg-4": [d, "bg-4", "never", "—", "now (no PASS)", "OVERDUE (never passed)", keyless_a],
        "ea-1": [d, "ea-1", "2026-04-30 d-ea1", "PASS", "2026-07-29", "OVERDUE (due today)", "never"],
    }


def test_status_json_and_a_day_earlier(two_tenants: tuple[Path, Path, Path]) -> None:
    a, b, ledger = two_tenants
    earlier = (T0 + timedelta(days=199)).isoformat()
    code, out, _ = run_cli(
        "schedule", "status", str(a), str(b), "--ledger", str(ledger), "--as-of", earlier, "--json"
    )
    assert code == 0
    rows = {r["account"]: r for r in json.loads(out)}
    assert rows["ea-1"]["days_left"] == 1
    assert rows["ea-1"]["overdue"] is False
    assert rows["bg-2"]["days_left"] == -19
    assert rows["bg-2"]["verdict"] == "FAIL"
    assert rows["bg-2"]["last_pass_at"] == T0.isoformat()
    assert rows["bg-4"]["next_due"] is None
    assert rows["bg-1"]["last_keyless_status"] == "fail"
    assert rows["ea-1"]["tenant_id"] == OTHER_TENANT


def test_status_default_ledger_and_a_tampered_one(
    make_playbook: Callable[..., Playbook],
    write_ledger: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # evidence.output_dir defaults to ./reports
    monkeypatch.setenv("COLUMNS", "200")
    pb = make_playbook(accounts=("bg-1",))
    path = write_ledger(drill_line("bg-1", "PASS", T0), drill_line("bg-1", "FAIL", T0 + timedelta(days=1)))
    assert path == tmp_path / "reports" / "ledger.jsonl"
    code, out, _ = run_cli("schedule", "status", str(pb.source), "--as-of", AS_OF)
    assert code == 0
    assert "Break-glass drill schedule for contoso.onmicrosoft.com as of 2026-07-29 09:00 UTC" in out
    assert _rows(out)["bg-1"][2:5] == ["FAIL", "2026-07-09", "OVERDUE by 20 days"]
    assert "does not verify" not in out
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[1].replace(b'"FAIL"', b'"PASS"'))
    code, out, _ = run_cli("schedule", "status", str(pb.source), "--as-of", AS_OF)
    assert "WARNING" in out
    assert "does not verify" in out


def test_bad_as_of_is_one_line_exit_2(two_tenants: tuple[Path, Path, Path]) -> None:
    a, _, _ = two_tenants
    code, _, err = run_cli("schedule", "status", str(a), "--as-of", "next tuesday")
    assert code == 2
    assert err.strip().splitlines() == [
        "error: --as-of 'next tuesday': not a date or time; write it like 2026-06-30 or 2026-06-30T09:00Z"
    ]
