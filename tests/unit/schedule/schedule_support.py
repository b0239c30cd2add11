"""Scheduler test fixtures: a playbook on disk, a controllable clock, a recording notifier, ledgers."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drill.assets import DEMO_PLAYBOOK, DEMO_TENANT
from drill.clouds import Cloud, cloud_for
from drill.evidence import ledger
from drill.evidence.signing import Signer
from drill.playbook import Playbook, load_playbook
from drill.schedule.notify import Notice

REPO = Path(__file__).resolve().parents[3]
RECIPIENT = "alice.admin@contoso.test"

TENANT = "0c5e1f4a-9d2b-4c71-8e36-5a8f0b7d2e91"
OTHER_TENANT = "9a9a9a9a-9d2b-4c71-8e36-5a8f0b7d2e91"
T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def playbook_yaml(accounts: tuple[str, ...], cycle_days: int, leads: tuple[int, ...], tenant: str) -> str:
    lines = [
        "tenant:",
        f"  id: {tenant}",
        "  primary_domain: contoso.onmicrosoft.com",
        "accounts:",
    ]
    for i, name in enumerate(accounts, 1):
        lines += [
            f"  - name: {name}",
            f"    upn: {name}@contoso.onmicrosoft.com",
            f"    object_id: 11111111-2222-4333-8444-5555555555{i:02d}",
            "    key: {aaguids: [ee882879-721c-4913-9775-3dfcce97072a], label: K, vendor: Yubico}",
            "    storage_location: Safe A",
            "    authorised_people: [Alice]",
        ]
    lines += [
        "observer: {kind: azure-cli}",
        "log_analytics: {workspace_id: 7d3c2b1a-0f9e-4d8c-b7a6-95e4d3c2b1a0, alert_query_file: alert.kql}",
        "alert: {mailbox: soc@contoso.com, subject_match: Emergency}",
        "announce: {to: [oncall@contoso.com]}",
        f"schedule: {{cycle_days: {cycle_days}, reminder_lead_days: [{', '.join(map(str, leads))}]}}",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def make_playbook(tmp_path: Path) -> Callable[..., Playbook]:
    def make(
        accounts: tuple[str, ...] = ("bg-1", "bg-2"),
        cycle_days: int = 180,
        leads: tuple[int, ...] = (30, 7, 1),
        tenant: str = TENANT,
        name: str = "playbook.yaml",
    ) -> Playbook:
        folder = tmp_path / "playbooks"
        folder.mkdir(exist_ok=True)
        (folder / "alert.kql").write_text("SigninLogs | take 1\n", encoding="utf-8")
        path = folder / name
        path.write_text(playbook_yaml(accounts, cycle_days, leads, tenant), encoding="utf-8")
        return load_playbook(path)

    return make


class FakeClock:
    """A clock the test moves by hand, forwards or backwards."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class RecordingNotifier:
    """Keeps every notice it is given; can be told to fail (a mail outage)."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []
        self.fail = False

    def send(self, notice: Notice) -> None:
        if self.fail:
            raise ConnectionError("mail is down")
        self.notices.append(notice)

    @property
    def keys(self) -> list[str]:
        return [n.key.rsplit("/", 1)[-1] for n in self.notices]


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Signer:
    """This workstation's evidence key (in a per-test DRILL_STATE_DIR): the key status and reminders pin.

    It used to be a throwaway key, which only worked while the scheduler trusted lines signed by anyone.
    """
    state = tmp_path / "workstation"
    monkeypatch.setenv("DRILL_STATE_DIR", str(state))
    return Signer.load(state_dir=state)


def drill_line(
    account: str, verdict: str, ended: datetime, tenant: str = TENANT, drill_id: str | None = None
) -> dict[str, Any]:
    return {
        "kind": "drill",
        "drill_id": drill_id or f"{account}-{ended:%Y%m%d%H%M}-{verdict.lower()}",
        "account": account,
        "tenant_id": tenant,
        "verdict": verdict,
        "reason": "all checks passed" if verdict == "PASS" else "alert step failed",
        "started_at": (ended - timedelta(minutes=20)).isoformat(),
        "ended_at": ended.isoformat(),
        "bundle": "b",
        "manifest_sha256": "0" * 64,
        "operator": "Alice",  # the playbooks' one authorised person: her practice is current (BG.PROC.4)
        "witness": None,
    }


@pytest.fixture
def write_ledger(tmp_path: Path, signer: Signer) -> Iterator[Callable[..., Path]]:
    def write(*entries: dict[str, Any], path: Path | None = None) -> Path:
        target = path or tmp_path / "reports" / "ledger.jsonl"
        for entry in entries:
            ledger.append(target, entry, signer)
        return target

    return write


@dataclass
class World:
    sim: Any
    playbook: Playbook
    cloud: Cloud
    credential: Any


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The demo tenant on a simulator, the demo playbook pointed at it, the observer credential."""
    from drill.auth import observer_credential
    from drill.sim.identity.routes import configure_client_secret
    from drill.sim.server import SimServer
    from drill.sim.tenant import load_tenant

    tenant = load_tenant(DEMO_TENANT)
    with SimServer(tenant, tmp_path / "sim") as sim:
        secret = secrets.token_urlsafe(32)
        configure_client_secret(sim.state, "6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02", secret)
        monkeypatch.setenv("DRILL_DEMO_OBSERVER_SECRET", secret)
        pb = load_playbook(
            DEMO_PLAYBOOK,
            env={"DRILL_SIM_PORT": str(sim.port), "DRILL_SIM_CA": str(sim.ca_path)},
        )
        cloud = cloud_for(pb)
        cred = observer_credential(pb, cloud)
        yield World(sim, pb, cloud, cred)
        close = getattr(cred, "close", None)
        if close:
            close()
