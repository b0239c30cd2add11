"""The orchestrator's fail-closed rules, with step functions standing in for the real steps.

The real steps run end to end against the simulator in tests/e2e; here we pin the control flow: skips
after failures, cleanup always, INCOMPLETE on interruption, and a record persisted after every step.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from drill.assets import DEMO_PLAYBOOK
from drill.evidence.model import DrillRecord, Status, StepResult, Verdict
from drill.run import orchestrator
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, Verdict, int]] = []
        self.final: DrillRecord | None = None

    def begin(self, record: DrillRecord) -> None:
        self.events.append(("begin", record.verdict, len(record.steps)))

    def update(self, record: DrillRecord) -> None:
        self.events.append(("update", record.verdict, len(record.steps)))

    def finish(self, record: DrillRecord) -> None:
        self.events.append(("finish", record.verdict, len(record.steps)))
        self.final = record


def _step(name: str, ok: bool | None = True, *, sleep: float = 0.0, boom: bool = False) -> Any:
    async def fn(ctx: DrillContext) -> StepResult:
        if sleep:
            await asyncio.sleep(sleep)
        if boom:
            raise RuntimeError("kaboom")
        sb = StepBuilder(name, name)
        sb.check("c", "c", ok, "because")
        return sb.finish()

    return fn


@pytest.fixture
def ctx(demo_playbook: Any) -> DrillContext:
    from drill.clouds import PUBLIC
    from drill.progress import Progress

    pb = demo_playbook
    return DrillContext(
        playbook=pb,
        account=pb.accounts[0],
        cloud=PUBLIC,
        open_key=lambda: None,  # type: ignore[arg-type,return-value]
        progress=Progress(quiet=True),
    )


@pytest.fixture
def demo_playbook(tmp_path: Any) -> Any:

    from drill.playbook import load_playbook

    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    return load_playbook(DEMO_PLAYBOOK, env={"DRILL_SIM_PORT": "1", "DRILL_SIM_CA": str(ca)})


def _plan(monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> list[str]:
    cleaned: list[str] = []
    plan = []
    for name, title, _fn, needs in orchestrator.PLAN:
        plan.append((name, title, overrides.get(name, _step(name)), needs))
    monkeypatch.setattr(orchestrator, "PLAN", plan)

    async def cleanup_run(ctx: DrillContext) -> StepResult:
        cleaned.append("yes")
        sb = StepBuilder("cleanup", "cleanup")
        sb.check("c", "c", True, "ok")
        return sb.finish()

    monkeypatch.setattr(orchestrator.cleanup, "run", cleanup_run)
    return cleaned


def test_all_pass_gives_pass_and_persists_every_step(
    monkeypatch: pytest.MonkeyPatch, ctx: DrillContext
) -> None:
    cleaned = _plan(monkeypatch)
    sink = Sink()
    record = asyncio.run(orchestrator.run_drill(ctx, sink))
    assert record.verdict is Verdict.PASS
    assert cleaned == ["yes"]
    planned = [name for name, *_ in orchestrator.PLAN if name != "incident"]  # the demo watches by mail
    assert [s.step for s in record.steps] == [*planned, "cleanup"]
    updates = [n for kind, _v, n in sink.events if kind == "update"]
    assert updates == list(range(1, len(planned) + 1))
    assert sink.events[-1] == ("finish", Verdict.PASS, len(planned) + 1)
    assert record.next_due is not None


@pytest.mark.parametrize(
    ("mail", "sentinel", "dropped"),
    [(True, False, {"incident"}), (False, True, {"alert"}), (True, True, set())],
)
def test_the_plan_holds_the_step_of_each_declared_watch(
    ctx: DrillContext, mail: bool, sentinel: bool, dropped: set[str]
) -> None:
    from drill.playbook.sentinel import SentinelWatch

    watch = SentinelWatch(
        workspace_resource_id="/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"
        "/providers/Microsoft.OperationalInsights/workspaces/ws",
        rule="Break-glass account activity",
    )
    ctx.playbook = ctx.playbook.model_copy(
        update={"alert": ctx.playbook.alert if mail else None, "sentinel": watch if sentinel else None}
    )
    planned = [name for name, *_ in orchestrator.plan_for(ctx)]
    assert planned == [name for name, *_ in orchestrator.PLAN if name not in dropped]


def test_failed_signin_skips_dependents_but_runs_cleanup(
    monkeypatch: pytest.MonkeyPatch, ctx: DrillContext
) -> None:
    cleaned = _plan(monkeypatch, signin=_step("signin", ok=False))
    record = asyncio.run(orchestrator.run_drill(ctx, Sink()))
    assert record.verdict is Verdict.FAIL
    assert record.reason.startswith("signin")
    by = {s.step: s for s in record.steps}
    for dependent in ("ga_proof", "log_rows", "alert"):
        assert by[dependent].status is Status.SKIPPED
        assert "signin did not pass" in by[dependent].reason
    assert cleaned == ["yes"]


def test_unproven_check_is_a_failure(monkeypatch: pytest.MonkeyPatch, ctx: DrillContext) -> None:
    _plan(monkeypatch, alert=_step("alert", ok=None))
    record = asyncio.run(orchestrator.run_drill(ctx, Sink()))
    assert record.verdict is Verdict.FAIL
    assert "not proven" in record.reason


def test_crash_is_error_never_pass(monkeypatch: pytest.MonkeyPatch, ctx: DrillContext) -> None:
    _plan(monkeypatch, ga_proof=_step("ga_proof", boom=True))
    record = asyncio.run(orchestrator.run_drill(ctx, Sink()))
    assert record.verdict is Verdict.FAIL
    ga = next(s for s in record.steps if s.step == "ga_proof")
    assert ga.status is Status.ERROR
    assert "kaboom" in ga.reason


def test_cancellation_leaves_incomplete_record_after_cleanup(
    monkeypatch: pytest.MonkeyPatch, ctx: DrillContext
) -> None:
    cleaned = _plan(monkeypatch, log_rows=_step("log_rows", sleep=30))
    sink = Sink()

    async def main() -> None:
        task = asyncio.create_task(orchestrator.run_drill(ctx, sink))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert cleaned == ["yes"]
    assert sink.final is not None
    assert sink.final.verdict is Verdict.INCOMPLETE
    assert [s.step for s in sink.final.steps][-1] == "cleanup"


def test_an_unreachable_host_mid_drill_fails_the_step_with_its_line(
    monkeypatch: pytest.MonkeyPatch, ctx: DrillContext
) -> None:
    """A wait that meets DNS, a refused port or untrusted TLS ends at once (issue 25): FAIL naming the host,
    not a crash and not a wait until the SLA."""
    from drill.clients import Unreachable
    from drill.steps.waiting import HostUnreachable

    async def gone(_ctx: DrillContext) -> StepResult:
        raise HostUnreachable(Unreachable("api.loganalytics.io", "dns"))

    _plan(monkeypatch, log_rows=gone)
    record = asyncio.run(orchestrator.run_drill(ctx, Sink()))
    assert record.verdict is Verdict.FAIL
    rows = next(s for s in record.steps if s.step == "log_rows")
    assert rows.status is Status.FAIL
    assert rows.reason.startswith("cannot reach api.loganalytics.io: the name does not resolve")
    assert rows.evidence["unreachable"] == {"host": "api.loganalytics.io", "kind": "dns"}
