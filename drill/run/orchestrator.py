"""Run the steps in order, time them, persist each result the moment it exists, and decide the verdict.

A step that depends on a failed one is recorded as skipped with the reason, never silently dropped;
cleanup always runs. Interrupts (Ctrl-C, SIGTERM) cancel the running step, cleanup still runs, and the
record stays INCOMPLETE with everything proven so far.
"""

from __future__ import annotations

import asyncio
import getpass
import platform
import socket
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from drill import __version__
from drill.browser.launch import sandbox_decision
from drill.evidence.controls import controls
from drill.evidence.model import BrowserRun, DrillRecord, Status, StepResult, Verdict, decide_verdict
from drill.progress import safe_progress
from drill.steps import admin_task, alert, announce, cleanup, ga_proof, incident, log_rows, preflight, signin
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext
from drill.steps.waiting import HostUnreachable

log = structlog.get_logger("drill.run.orchestrator")

StepFn = Callable[[DrillContext], Awaitable[StepResult]]

# name, title, function, the steps whose failure makes this one pointless
PLAN: list[tuple[str, str, StepFn, tuple[str, ...]]] = [
    (preflight.NAME, preflight.TITLE, preflight.run, ()),
    (announce.NAME, announce.TITLE, announce.run, ("preflight",)),
    (signin.NAME, signin.TITLE, signin.run, ("preflight",)),
    (ga_proof.NAME, ga_proof.TITLE, ga_proof.run, ("signin",)),
    (log_rows.NAME, log_rows.TITLE, log_rows.run, ("signin",)),
    (alert.NAME, alert.TITLE, alert.run, ("signin",)),
    (incident.NAME, incident.TITLE, incident.run, ("signin",)),
    # Last, so its write and audit wait never shift the sign-in's own waits; pointless once the logs
    # pipeline has failed (its proof needs the AuditLogs row).
    (admin_task.NAME, admin_task.TITLE, admin_task.run, ("ga_proof", "log_rows")),
]


def plan_for(ctx: DrillContext) -> list[tuple[str, str, StepFn, tuple[str, ...]]]:
    """The steps this playbook's watches call for: the alert mail step for `alert:`, the incident step for
    `sentinel:` (a playbook declares either or both)."""
    pb = ctx.playbook
    skip = {alert.NAME} if pb.alert is None else set()
    if pb.sentinel is None:
        skip.add(incident.NAME)
    return [entry for entry in PLAN if entry[0] not in skip]


def _watch_required(ctx: DrillContext, name: str) -> bool | None:
    """Whether the verdict needs this watch step (None: not a watch step)."""
    watch = {alert.NAME: ctx.playbook.alert, incident.NAME: ctx.playbook.sentinel}.get(name)
    return None if watch is None else bool(watch.required)


EXIT_CODES = {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.INCOMPLETE: 3}


class RecordSink(Protocol):
    """Where the record lands as it grows (the evidence bundle writer in practice)."""

    def begin(self, record: DrillRecord) -> None: ...

    def update(self, record: DrillRecord) -> None: ...

    def finish(self, record: DrillRecord) -> None: ...


def workstation(browser_version: str | None) -> dict[str, object]:
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for dist in (
        "playwright",
        "fido2",
        "msal",
        "msgraph-sdk",
        "azure-monitor-query",
        "azure-identity",
        "structlog",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "host": socket.gethostname(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "tool": f"breakglass-drill {__version__}",
        "libraries": versions,
        "browser": browser_version,
        "chromium_sandbox": sandbox_decision().evidence(),
    }


def new_record(ctx: DrillContext, operator_name: str | None, witness: str | None) -> DrillRecord:
    pb, acct = ctx.playbook, ctx.account
    return DrillRecord(
        drill_id=ctx.drill_id,
        verdict=Verdict.INCOMPLETE,
        reason="the drill is running",
        tenant_id=str(pb.tenant.id),
        tenant_domain=pb.tenant.primary_domain,
        cloud=ctx.cloud.name,
        account_name=acct.name,
        account_upn=acct.upn,
        account_object_id=str(acct.object_id),
        operator={"os_user": getpass.getuser(), "name": operator_name},
        witness=witness,
        workstation={**workstation(None), "endpoints": ctx.cloud.endpoints()},
        started_at=datetime.now(UTC),
        sla={k: float(v) for k, v in pb.sla.model_dump().items()},
        controls=controls(),
    )


def _crashed(name: str, title: str, exc: BaseException) -> StepResult:
    sb = StepBuilder(name, title)
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
    return sb.error(f"crashed: {type(exc).__name__}: {str(exc)[:400]}{where}")


async def _run_step(ctx: DrillContext, name: str, title: str, fn: StepFn) -> StepResult:
    ctx.progress.step(name, title)
    try:
        result = await fn(ctx)
    except asyncio.CancelledError:
        raise
    except HostUnreachable as gone:  # not a crash: the one line names the host and what to check
        result = StepBuilder(name, title).fail(gone.line)
        result.evidence["unreachable"] = {"host": gone.where.host, "kind": gone.where.kind}
    except Exception as exc:
        log.exception("step crashed", step=name)
        result = _crashed(name, title, exc)
    ctx.progress.done(name, result.status.value, result.reason, result.duration_s)
    return result


def _refresh(record: DrillRecord, ctx: DrillContext) -> None:
    record.timings = ctx.timings
    record.findings = list(ctx.findings)
    if ctx.key_info is not None:
        record.key = ctx.key_info.evidence()
    else:
        # The key's kind is always on record (hardware or software), even when preflight never got to
        # describe it: from the opened adapter if there is one, else plainly unknown.
        record.key = {**record.key, "kind": getattr(ctx.key, "kind", None) or "unknown"}
    record.workstation["browser"] = ctx.browser_version
    if ctx.browser is not None:
        record.browser = BrowserRun.model_validate(ctx.browser)


async def run_drill(
    ctx: DrillContext,
    sink: RecordSink,
    *,
    operator_name: str | None = None,
    witness: str | None = None,
) -> DrillRecord:
    ctx.progress = safe_progress(ctx.progress)  # steps print through it too: guard it once for all
    record = new_record(ctx, operator_name, witness)
    sink.begin(record)
    outcome: dict[str, Status] = {}
    finished = False
    try:
        for name, title, fn, needs in plan_for(ctx):
            blocked = [n for n in needs if outcome.get(n) is not Status.PASS]
            if blocked:
                sb = StepBuilder(name, title)
                result = sb.skipped(f"not run: {blocked[0]} did not pass")
                result.required = name != announce.NAME
                ctx.progress.done(name, result.status.value, f"{title}: {result.reason}", 0.0)
            else:
                try:
                    result = await _run_step(ctx, name, title, fn)
                except asyncio.CancelledError:
                    cut = StepBuilder(name, title).error("interrupted (Ctrl-C or SIGTERM) while running")
                    record.steps.append(cut)
                    ctx.progress.done(name, cut.status.value, cut.reason, cut.duration_s)
                    raise
            if (needed := _watch_required(ctx, name)) is not None:
                result.required = result.required and needed
            outcome[name] = result.status
            record.steps.append(result)
            _refresh(record, ctx)
            sink.update(record)
        finished = True
    finally:
        # Cleanup always runs, shielded from the cancellation that may have brought us here.
        try:
            result = await asyncio.shield(_run_step(ctx, cleanup.NAME, cleanup.TITLE, cleanup.run))
        except asyncio.CancelledError:
            result = StepBuilder(cleanup.NAME, cleanup.TITLE).error("interrupted during cleanup")
            finished = False
        record.steps.append(result)
        _refresh(record, ctx)
        record.ended_at = datetime.now(UTC)
        record.timings.total_s = round((record.ended_at - record.started_at).total_seconds(), 3)
        record.verdict, record.reason = decide_verdict(record.steps, finished)
        if record.verdict is Verdict.PASS:
            record.next_due = (record.ended_at + timedelta(days=ctx.playbook.schedule.cycle_days)).date()
        await asyncio.to_thread(sink.finish, record)
    return record
