"""Issue 25, case 8: `drill preflight` and `drill audit` against a host that cannot be reached.

Through the real CLI in a subprocess, with the demo playbook's endpoints pointed at a name that never
resolves (`.invalid`, RFC 6761) or at a loopback port nobody listens on. Preflight's SLA is raised to 300 s
so that waiting it out, as the tool used to, would overrun the subprocess's generous bound; the bound is a
guard against that regression, not a timing measurement.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from drill.testing import demo_playbook_at

pytestmark = [pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
BOUND_S = 90  # far below the 300 s preflight SLA written into the playbook
SCREENFUL = 24


def _playbook(tmp_path: Path, host: str) -> Path:
    return demo_playbook_at(tmp_path, host)


def _drill(tmp_path: Path, *args: str) -> tuple[int, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DRILL_DEMO_OBSERVER_SECRET": "not-a-real-secret",
           "HOME": str(tmp_path)}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "drill", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=BOUND_S, check=False)  # fmt: skip
    return done.returncode, (done.stdout + done.stderr).splitlines()


def _refused_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize(
    ("host", "says"),
    [("login.drill-nowhere.invalid", "the name does not resolve"), (None, "nothing accepts connections")],
    ids=["dns", "refused"],
)
def test_preflight_ends_at_once_with_one_line_naming_the_host(tmp_path: Path, host: str | None,
                                                              says: str) -> None:  # fmt: skip
    host = host or _refused_port()
    code, lines = _drill(tmp_path, "preflight", str(_playbook(tmp_path, host)))
    assert code == 1, lines
    naming = [line for line in lines if host in line]
    assert len(naming) == 1, lines
    assert naming[0].startswith("FAIL")
    assert f"cannot reach {host}: {says}" in naming[0]
    assert "throttling" not in "\n".join(lines)
    assert "preflight FAIL: 1 check(s) failed, first: Identity platform answers" in lines


def test_audit_that_read_nothing_says_so_once_and_ledgers_nothing(tmp_path: Path) -> None:
    host = "login.drill-nowhere.invalid"
    reports = tmp_path / "reports"
    code, lines = _drill(tmp_path, "audit", str(_playbook(tmp_path, host)), "--no-pdf", "--output",
                         str(reports))  # fmt: skip
    assert code == 1, lines
    assert len(lines) <= SCREENFUL, lines
    said = [line for line in lines if line.startswith("audit not done")]
    assert said == [f"audit not done: nothing could be read from the tenant: cannot reach {host}: the name "
                    "does not resolve; check the endpoint in the playbook (tenant.cloud), the workstation's "
                    "DNS and its proxy"]  # fmt: skip
    # No bundle and no ledger line claiming an audit happened.
    assert not (reports / "ledger.jsonl").exists() or not (reports / "ledger.jsonl").read_text().strip()
    assert not reports.exists() or not list(reports.glob("audit-*"))
