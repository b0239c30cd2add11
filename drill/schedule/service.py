"""Wiring for `drill schedule run`: playbooks -> targets (ledger, notifiers, signer) -> a running scheduler.

Runs until SIGINT or SIGTERM (a container stop), then shuts APScheduler down cleanly so the job store keeps
every next run time. `once=True` runs one reminder check and one keyless check and exits (cron, CI).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from drill.logs import get_logger
from drill.schedule.notify import GraphMailNotifier, LogNotifier, Notifier
from drill.schedule.scheduler import DrillScheduler, ScheduleRuntime, Target
from drill.schedule.watch_state import default_state_dir

log = get_logger("drill.schedule.scheduler")


def build_runtime(
    playbook_paths: Sequence[Path], state_dir: Path | None, ledger: Path | None, *, mail: bool
) -> ScheduleRuntime:
    """Load the playbooks and build what the jobs act on; the observer credential is created, not used."""
    from drill.auth import observer_credential
    from drill.clients import graph_scopes
    from drill.clouds import cloud_for
    from drill.errors import DrillUserError
    from drill.evidence.signing import Signer
    from drill.playbook import Playbook, load_playbook
    from drill.schedule.probes import ObserverProbes
    from drill.schedule.status import ledger_path_for

    playbooks = [load_playbook(p) for p in playbook_paths]
    tenants = [str(pb.tenant.id) for pb in playbooks]
    if len(set(tenants)) != len(tenants):
        raise DrillUserError("two playbooks name the same tenant; pass each tenant's playbook once")
    targets = []
    signer = None
    for pb in playbooks:
        cloud = cloud_for(pb)
        notifiers: list[Notifier] = [LogNotifier()]
        if mail and pb.alert is None:
            raise DrillUserError(
                f"{pb.source or 'the playbook'}: the scheduler mails reminders from the alert mailbox, "
                "and this playbook declares none; add `alert:` with the mailbox (`required: false` when "
                "the verdict does "
                "not need the alert mail), or run the scheduler without mail"
            )
        if mail:
            assert pb.alert is not None
            recipients = list(pb.announce.to) if pb.announce else [str(pb.alert.mailbox)]
            notifiers.append(
                GraphMailNotifier(
                    observer_credential(pb, cloud),
                    cloud.graph_endpoint,
                    sender=str(pb.alert.mailbox),
                    recipients=recipients,
                    scopes=graph_scopes(cloud, (".default",)),
                    ca_bundle=cloud.ca_bundle,
                )
            )
        target_signer = Signer.load(key_path=pb.signing_key_path())
        signer = signer or target_signer
        targets.append(Target(pb, ledger_path_for(pb, ledger), notifiers, signer=target_signer))
    assert signer is not None  # typer requires at least one playbook

    def probes_for(pb: Playbook) -> ObserverProbes:
        cloud = cloud_for(pb)
        return ObserverProbes(pb, observer_credential(pb, cloud), cloud)

    def audit_readers_for(pb: Playbook) -> list[Any]:
        from drill.audit.run import default_readers

        cloud = cloud_for(pb)
        return default_readers(observer_credential(pb, cloud), cloud)

    def permissions_for(pb: Playbook) -> list[str]:
        from drill.permissions import Feature, features_of
        from drill.permissions.selfcheck import missing_permissions

        cloud = cloud_for(pb)
        features = features_of(pb, drill=False, scheduler=True)
        if not mail:
            features -= {Feature.SCHEDULER_MAIL}
        return missing_permissions(pb, cloud, observer_credential(pb, cloud), features)

    from drill.evidence.pdf import render_pdf

    return ScheduleRuntime(
        targets,
        state_dir or default_state_dir(),
        signer,
        activity_for=probes_for,
        audit_readers_for=audit_readers_for,
        audit_pdf=render_pdf,
        permissions_for=permissions_for,
    )


def serve(runtime: ScheduleRuntime, *, once: bool = False) -> int:
    """Run the scheduler until a stop signal (or one round with `once`); returns the exit code."""
    if once:
        runtime.check_reminders()
        failed = False
        for target in runtime.targets:
            if runtime.audit_readers_for is not None:
                run = runtime.run_audit(target.tenant_id)
                failed = failed or (run is not None and run.exit_code != 0)
                failed = failed or bool(runtime.blocked.get(target.tenant_id))
            else:
                result = runtime.run_keyless(target.tenant_id)
                failed = failed or (result is not None and not result.ok)
            failed = not runtime.watch_unplanned(target.tenant_id).ok or failed
        return 1 if failed else 0
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("schedule.stopping", signal=signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    scheduler = DrillScheduler(runtime)
    try:
        scheduler.start()
        for job in scheduler.jobs():
            log.info("schedule.job", job_id=job.id, next_run=str(job.next_run_time))
        stop.wait()
    finally:
        scheduler.shutdown()
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0
