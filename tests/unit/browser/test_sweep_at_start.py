"""Issue 17 item 15, wired: the next drill's start sweeps a crashed drill's profile and log folder (the
run loop every drill goes through, live or demo), and leaves a fresh one alone."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from drill.assets import DEMO_PLAYBOOK
from drill.browser.sweep import LOG_PREFIX, PROFILE_PREFIX, STALE_AFTER_S
from drill.evidence.model import DrillRecord, StepResult, Verdict
from drill.run import orchestrator
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext

ROOT = Path(__file__).resolve().parents[3]


class _Sink:
    final: DrillRecord | None = None

    def begin(self, record: DrillRecord) -> None:
        return None

    def update(self, record: DrillRecord) -> None:
        return None

    def finish(self, record: DrillRecord) -> None:
        self.final = record


def test_the_next_drill_sweeps_what_a_crashed_one_left(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from drill.clouds import PUBLIC
    from drill.playbook import load_playbook
    from drill.progress import Progress
    from drill.run.loop import execute

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    old = time.time() - STALE_AFTER_S - 60
    crashed = []
    for prefix in (PROFILE_PREFIX, LOG_PREFIX):
        folder = temp / f"{prefix}crashed"
        (folder / "Default").mkdir(parents=True)
        (folder / "Default" / "Cookies").write_text("ESTSAUTH=secret")
        os.utime(folder, (old, old))
        crashed.append(folder)
    fresh = temp / f"{PROFILE_PREFIX}fresh"
    fresh.mkdir()

    async def passing(ctx: DrillContext) -> StepResult:
        sb = StepBuilder("x", "x")
        sb.check("c", "c", True, "ok")
        return sb.finish()

    monkeypatch.setattr(orchestrator, "PLAN", [(n, t, passing, d) for n, t, _f, d in orchestrator.PLAN])
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    pb = load_playbook(DEMO_PLAYBOOK, env={"DRILL_SIM_PORT": "1", "DRILL_SIM_CA": str(ca)})
    pb = pb.model_copy(update={"cleanup": pb.cleanup.model_copy(update={"revoke_sessions": False})})
    ctx = DrillContext(
        playbook=pb,
        account=pb.accounts[0],
        cloud=PUBLIC,
        open_key=lambda: None,  # type: ignore[arg-type,return-value]
        progress=Progress(quiet=True),
    )
    sink = _Sink()
    assert execute(ctx, sink) == 0
    assert sink.final is not None
    assert sink.final.verdict is Verdict.PASS
    for folder in crashed:
        assert not folder.exists(), folder
    assert fresh.is_dir()
