"""Issue 17 item 14: a software key (it claims any AAGUID and approves its own touch) never answers a live
drill on a Microsoft cloud, and the record always says which kind of key answered.

Driven through the live wiring (`drill run` on the CLI and `drill.run.live`), with real software keys made
by the product's own provisioning; any prompt (operator name, PIN) fails the test, because the refusal
must come before anyone is asked for anything.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drill.assets import DEMO_PLAYBOOK, EXAMPLE_PLAYBOOK
from drill.evidence.model import DrillRecord, StepResult
from drill.run import orchestrator
from drill.secrets import forget_secrets
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = EXAMPLE_PLAYBOOK  # tenant.cloud: public
PIN = "246813"


@pytest.fixture(autouse=True)
def _no_prompts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def prompted(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"the operator was prompted: {args!r}")

    monkeypatch.setattr("getpass.getpass", prompted)
    monkeypatch.setattr("typer.prompt", prompted)
    forget_secrets()
    yield
    forget_secrets()


@pytest.fixture
def demo_playbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo playbook (a custom cloud) that loads without the simulator running."""
    monkeypatch.setenv("DRILL_SIM_PORT", "1")
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    monkeypatch.setenv("DRILL_SIM_CA", str(ca))
    return DEMO_PLAYBOOK


@pytest.fixture
def software_keys(tmp_path: Path) -> Path:
    """Real software keys for the demo accounts, made the way `drill demo` makes them."""
    from drill.keys.software import provision_software_keys
    from drill.playbook import load_playbook

    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    pb = load_playbook(DEMO_PLAYBOOK, env={"DRILL_SIM_PORT": "1", "DRILL_SIM_CA": str(ca)})
    folder = tmp_path / "keys"
    provision_software_keys(pb.accounts, folder, tmp_path / "vendors", PIN)
    return folder


def test_drill_run_refuses_software_keys_on_a_microsoft_cloud_before_any_prompt(
    monkeypatch: pytest.MonkeyPatch, software_keys: Path, tmp_path: Path
) -> None:
    drill = Path(sys.executable).parent / "drill"
    env = {**os.environ, "DRILL_SOFTWARE_KEYS": str(software_keys)}
    # stdin closed: a prompt for the operator's name or the PIN would end the run some other way.
    result = subprocess.run(
        [str(drill), "run", str(EXAMPLE), "--account", "bg-1"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "DRILL_SOFTWARE_KEYS" in result.stderr
    assert "hardware keys only" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Operator name" not in result.stdout + result.stderr
    assert "PIN for" not in result.stdout + result.stderr
    assert not list(tmp_path.glob("reports*")), "nothing may start before the refusal"


def test_preflight_refuses_them_too(monkeypatch: pytest.MonkeyPatch, software_keys: Path) -> None:
    from drill.errors import DrillUserError
    from drill.run.live import run_preflight

    monkeypatch.setenv("DRILL_SOFTWARE_KEYS", str(software_keys))
    with pytest.raises(DrillUserError, match="hardware keys only"):
        run_preflight(EXAMPLE, "bg-1")


def test_a_custom_cloud_on_microsoft_endpoints_counts_as_microsoft() -> None:
    from dataclasses import replace

    from drill.clouds import PUBLIC
    from drill.keys.inventory import is_builtin_cloud, refuse_software_keys

    disguised = replace(PUBLIC, name="rehearsal")
    assert is_builtin_cloud(disguised)
    with pytest.raises(Exception, match="hardware keys only"):
        refuse_software_keys(disguised, Path("/keys"))
    # Any Microsoft sign-in host, not only the built-ins' own spellings (trailing dot, other login hosts).
    for authority in (
        "https://login.microsoftonline.com.",
        "https://login.windows.net",
        "https://LOGIN.microsoft.com",
    ):
        assert is_builtin_cloud(replace(PUBLIC, name="rehearsal", authority_host=authority)), authority
    assert not is_builtin_cloud(
        replace(PUBLIC, name="sim", authority_host="https://login.microsoftonline.test:8443")
    )


def test_hardware_only_selection_refuses_a_software_key(demo_playbook: Path, software_keys: Path) -> None:
    from drill.keys.errors import KeySelectionError
    from drill.keys.inventory import open_account_authenticator
    from drill.keys.prompts import ScriptedPrompts
    from drill.playbook import load_playbook

    account = load_playbook(demo_playbook).accounts[0]
    with pytest.raises(KeySelectionError, match="hardware keys only"):
        open_account_authenticator(
            account, ScriptedPrompts(), {}, software=software_keys, include_hardware=False, hardware_only=True
        )


class _Sink:
    final: DrillRecord | None = None

    def begin(self, record: DrillRecord) -> None:
        return None

    def update(self, record: DrillRecord) -> None:
        return None

    def finish(self, record: DrillRecord) -> None:
        self.final = record


def _run_with_first_step(monkeypatch: pytest.MonkeyPatch, ctx: DrillContext, first: Any) -> DrillRecord:
    plan = [(n, t, first if n == "preflight" else f, d) for n, t, f, d in orchestrator.PLAN]
    # Only the first step runs (it fails on purpose), so no later step needs a tenant.
    monkeypatch.setattr(orchestrator, "PLAN", plan)
    ctx.playbook = ctx.playbook.model_copy(
        update={"cleanup": ctx.playbook.cleanup.model_copy(update={"revoke_sessions": False})}
    )
    sink = _Sink()
    asyncio.run(orchestrator.run_drill(ctx, sink))
    assert sink.final is not None
    return sink.final


@pytest.mark.parametrize("described", [True, False])
def test_the_record_says_which_kind_of_key_answered(
    monkeypatch: pytest.MonkeyPatch, demo_playbook: Path, software_keys: Path, described: bool
) -> None:
    from drill.run.live import _context
    from drill.steps import preflight

    monkeypatch.setenv("DRILL_SOFTWARE_KEYS", str(software_keys))
    ctx = _context(demo_playbook, "ea01")  # a custom cloud: software keys allowed, and recorded as such

    async def first(c: DrillContext) -> StepResult:
        sb = StepBuilder("preflight", "preflight")
        if described:
            preflight.check_key(c, sb)  # the real key check: describes the key into ctx.key_info
        else:
            c.key = c.open_key()  # opened, never described (a preflight that stopped early)
        sb.check("stop", "stop here", False, "the rest needs a tenant")
        return sb.finish()

    record = _run_with_first_step(monkeypatch, ctx, first)
    assert record.key["kind"] == "software"


def test_the_record_says_unknown_when_no_key_was_opened(
    monkeypatch: pytest.MonkeyPatch, demo_playbook: Path
) -> None:
    from drill.run.live import _context

    monkeypatch.delenv("DRILL_SOFTWARE_KEYS", raising=False)
    ctx = _context(demo_playbook, "ea01")

    async def first(c: DrillContext) -> StepResult:
        return StepBuilder("preflight", "preflight").fail("observer refused")

    record = _run_with_first_step(monkeypatch, ctx, first)
    assert record.key["kind"] == "unknown"
