"""The state one drill carries from step to step. Secrets live here in memory only, never in the record."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drill.evidence.model import Finding, Timings
from drill.steps.skew import ClockSkew

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from drill.auth import TokenSet
    from drill.clouds import Cloud
    from drill.keys.base import Authenticator, KeyInfo
    from drill.keys.key_path import KeyPath
    from drill.playbook import Account, Playbook
    from drill.progress import Progress


GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"


@dataclass
class DrillContext:
    playbook: Playbook
    account: Account
    cloud: Cloud
    # Opens the account's key (hardware adapter on a workstation, software key in demo and tests).
    open_key: Callable[[], Authenticator]
    progress: Progress
    drill_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    browser_args: list[str] = field(default_factory=list)  # extra Chromium flags (the simulator's host map)
    # Where screenshots go as they are taken; `drill.run.loop.execute` sets it from the bundle writer.
    save_screenshot: Callable[[str, bytes], str] | None = None
    work_dir: Path | None = None
    headed: bool = False  # show the browser window (rehearsals); the playbook's browser.headless otherwise
    # How this workstation reaches the key (drill.keys.key_path); None: unknown (the key's own describe()
    # still says what it cannot read). Decides whether the permission self-check asks for `windows-key`.
    key_path: KeyPath | None = None

    # -- facts the steps hand on (no secrets but `tokens` and `observer`, which never leave memory) -----
    key: Authenticator | None = None
    key_info: KeyInfo | None = None
    observer: TokenCredential | None = None
    tokens: TokenSet | None = field(default=None, repr=False)
    token_claims: dict[str, Any] = field(default_factory=dict)
    signin_completed_at: datetime | None = None
    browser_version: str | None = None
    browser: dict[str, object] | None = None  # which browser ran and its version (BrowserSession.evidence)
    timings: Timings = field(default_factory=Timings)
    findings: list[Finding] = field(default_factory=list)
    cleanups: list[Callable[[], Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: {"logs_queries": 0, "graph_requests": 0})
    # The tenant's clock minus ours, measured in preflight and applied to every window and mail filter.
    skew: ClockSkew = field(default_factory=ClockSkew)
    # The drill's own SigninLogs success row (Id, CorrelationId, CreatedDateTime, TimeGenerated), once found.
    signin_row: dict[str, Any] = field(default_factory=dict)
    # The deployed break-glass rules preflight read from ARM (drill.monitoring.DeployedRule by playbook
    # reference) and their reader, for the log rows and alert steps (issue 13). Empty without `monitoring:`.
    deployed_rules: dict[str, Any] = field(default_factory=dict)
    arm: Any = None
    # Why preflight could not read Entra's diagnostic settings (ARM 403), or None: the drill's own SigninLogs
    # and AuditLogs rows are then the only proof the logs reach the workspace (issue 25).
    diagnostic_setting_unread: str | None = None
    # The Sentinel watch preflight read from ARM (issue 24): {"rule": ARM JSON, "workspace": id, "arm": ...}.
    sentinel: dict[str, Any] = field(default_factory=dict)

    def finding(self, severity: str, title: str, detail: str, step: str | None = None) -> None:
        self.findings.append(Finding(severity=severity, title=title, detail=detail, step=step))  # type: ignore[arg-type]
