"""Issue 17 item 6: tenant strings reach the console as text, secrets never do, and a broken display
never changes a step's result or the verdict.

The orchestrator is driven for real (its PLAN replaced by step functions, as tests/unit/run does); the
steps below print tenant-controlled text through the real `Progress` the drill uses.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drill.assets import DEMO_PLAYBOOK
from drill.evidence.model import DrillRecord, Status, StepResult, Verdict
from drill.progress import Progress
from drill.run import orchestrator
from drill.secrets import REDACTED, forget_secrets, register_secret
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext

ROOT = Path(__file__).resolve().parents[3]
POLICY = "Admins [/] on compliant devices"
MARKUP = "[bold red]x[/]"
JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIiwid2lkcyI6W119.U2lnbmF0dXJlX2J5dGVz"


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


class Sink:
    def __init__(self) -> None:
        self.final: DrillRecord | None = None

    def begin(self, record: DrillRecord) -> None:
        return None

    def update(self, record: DrillRecord) -> None:
        return None

    def finish(self, record: DrillRecord) -> None:
        self.final = record


def _context(tmp_path: Path, progress: Any) -> DrillContext:
    from drill.clouds import PUBLIC
    from drill.playbook import load_playbook

    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    pb = load_playbook(DEMO_PLAYBOOK, env={"DRILL_SIM_PORT": "1", "DRILL_SIM_CA": str(ca)})
    return DrillContext(
        playbook=pb,
        account=pb.accounts[0],
        cloud=PUBLIC,
        open_key=lambda: None,  # type: ignore[arg-type,return-value]
        progress=progress,
    )


def _talking_step(name: str) -> Any:
    """A step that shows tenant text the way announce/log_rows do, then passes with that text as reason."""

    async def fn(ctx: DrillContext) -> StepResult:
        ctx.progress.info(f"CA policy applied: {POLICY}", policy=MARKUP)
        ctx.progress.waiting(f"the row of {POLICY}", 1.0, 10.0, 1)
        sb = StepBuilder(name, f"{name} {MARKUP}")
        sb.check("c", "c", True, f"expected policies: {POLICY}; {MARKUP}")
        return sb.finish()

    return fn


def _plan(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = [(name, title, _talking_step(name), needs) for name, title, _fn, needs in orchestrator.PLAN]
    monkeypatch.setattr(orchestrator, "PLAN", plan)

    async def cleanup_run(ctx: DrillContext) -> StepResult:
        sb = StepBuilder("cleanup", "cleanup")
        sb.check("c", "c", True, "ok")
        return sb.finish()

    monkeypatch.setattr(orchestrator.cleanup, "run", cleanup_run)


def test_tenant_markup_prints_literally_through_every_progress_method() -> None:
    out = io.StringIO()
    progress = Progress(out)
    progress.step("preflight", POLICY)
    progress.done("signin", "fail", f"blocked by {POLICY} and {MARKUP}", 1.0)
    progress.info(POLICY, name=MARKUP)
    progress.waiting(MARKUP, 1.0, 2.0, 1)
    text = out.getvalue()
    assert text.count(POLICY) == 3
    assert text.count(MARKUP) == 3  # shown as typed, not turned into bold red
    assert "progress display failed" not in text


def test_token_in_progress_output_is_redacted() -> None:
    out = io.StringIO()
    progress = Progress(out)
    register_secret("opaque-refresh-value-7781")
    progress.done("ga_proof", "error", f"Graph said: Bearer {JWT} was refused", 0.5)
    progress.info(f"token {JWT}", access_token="opaque-refresh-value-7781")
    progress.step("signin", f"id_token={JWT}")
    text = out.getvalue()
    assert JWT not in text
    assert "opaque-refresh-value-7781" not in text
    assert text.count(REDACTED) >= 3


def test_tenant_markup_flows_through_a_real_drill_without_changing_results(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _plan(monkeypatch)
    out = io.StringIO()
    sink = Sink()
    record = asyncio.run(orchestrator.run_drill(_context(tmp_path, Progress(out)), sink))
    assert record.verdict is Verdict.PASS, record.reason
    assert all(s.status is Status.PASS for s in record.steps)
    assert POLICY in out.getvalue()
    assert MARKUP in out.getvalue()


class _BrokenConsole:
    def print(self, *args: Any, **kwargs: Any) -> None:
        raise BrokenPipeError("the terminal went away")


class _ExplodingProgress:
    """Not a `Progress` at all: every call raises, as a third-party display might."""

    def __getattr__(self, name: str) -> Any:
        def boom(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError(f"display {name} broke")

        return boom


@pytest.mark.parametrize("kind", ["broken console", "exploding progress"])
def test_a_failing_display_never_changes_a_result_or_the_verdict(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str
) -> None:
    _plan(monkeypatch)
    if kind == "broken console":
        progress: Any = Progress(io.StringIO())
        progress._console = _BrokenConsole()
    else:
        progress = _ExplodingProgress()
    ctx = _context(tmp_path, progress)
    record = asyncio.run(orchestrator.run_drill(ctx, Sink()))
    assert record.verdict is Verdict.PASS, record.reason
    assert [s.status for s in record.steps] == [Status.PASS] * len(record.steps)
    assert [s.step for s in record.steps] == [name for name, *_ in orchestrator.plan_for(ctx)] + ["cleanup"]
