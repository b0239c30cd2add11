"""The registry's vocabulary: who calls, what it needs, which feature needs it.

A `Grant` is what an administrator grants once (a Graph permission consented for an app, or an Azure role at
a scope); its `calls` are every request the product makes on the strength of it, each naming the features
that make it. The product asks for a grant only when a feature the playbook turns on makes one of its calls,
so a tenant that never files to SharePoint is never told to grant `Sites.Selected`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Identity(StrEnum):
    """The identities the product signs in as."""

    DRILL_APP = "drill-app"  # the break-glass account through the drill app registration: delegated
    OBSERVER = "observer"  # the observer app (or managed identity): application permissions, Azure roles
    SETUP_ADMIN = "setup-admin"  # an administrator running `drill setup`: delegated, once


class Feature(StrEnum):
    """What a playbook turns on; each needs the grants of the calls it makes."""

    DRILL = "drill"  # sign-in, GA proof, log rows, alert (and the preflight before them)
    ADMIN_TASK = "admin-task"  # the admin write and its restore (admin_task.enabled)
    REVOKE = "revoke"  # revoke the account's sessions after the drill (cleanup.revoke_sessions)
    ANNOUNCE = "announce"  # mail the announcement before the sign-in (announce:)
    AUDIT = "audit"  # the keyless posture audit (drill audit, the scheduler's daily audit)
    WATCH = "watch"  # the scheduler's unplanned-use watch over the sign-in logs
    KEYLESS = "keyless"  # the scheduler's daily keyless check (schedule.daily_keyless_check)
    SCHEDULER_MAIL = "scheduler-mail"  # the scheduler's reminder and finding mail
    FILING = "filing"  # SharePoint filing of the signed bundle (evidence.filing kind sharepoint)
    SETUP = (
        "setup"  # `drill setup plan` and `apply`: an administrator registers and grants the two identities
    )
    MONITORING = "monitoring"  # `drill setup apply` of a plan made with --monitoring: deploys the alerting
    # A drill on the Windows WebAuthn path (no administrator rights): the key's model proven after the
    # ceremony from the account's registered passkeys (drill/steps/key_identity.py)
    WINDOWS_KEY = "windows-key"
    MAIL_WATCH = "mail-watch"  # the alert mail watch: preflight and the alert step read the mailbox (alert:)
    SENTINEL = "sentinel"  # the Sentinel watch: the analytics rule, automation rules, alert, incident
    DEFENDER = "defender"  # the Sentinel incident read again through Graph (sentinel.defender_onboarded)


class Kind(StrEnum):
    """How the grant is given: each kind has its own way to grant and to check."""

    DELEGATED = "delegated"  # a Graph delegated permission, admin-consented for the drill app
    APPLICATION = "application"  # a Graph application permission (app role), admin-consented
    AZURE_ROLE = "azure-role"  # an Azure RBAC role assignment at a scope


class Service(StrEnum):
    GRAPH = "graph"  # Microsoft Graph: directory, policies, roles
    MAIL = "mail"  # Exchange Online mail, through Microsoft Graph
    SHAREPOINT = "sharepoint"  # SharePoint document libraries, through Microsoft Graph
    ARM = "arm"  # Azure Resource Manager (management.azure.com)
    LOGS = "logs"  # Log Analytics query API (api.loganalytics.io)


# The Azure scope a role is assigned at, as a placeholder the page and the preflight line fill in.
SCOPE_TENANT = "tenant"
SCOPE_MAILBOX = "mailbox"  # the alert mailbox (and the sender's) through Exchange RBAC for Applications
SCOPE_SITE = "site"  # the filing site through Sites.Selected
SCOPE_WORKSPACE = "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.OperationalInsights/workspaces/{workspace}"  # noqa: E501
SCOPE_RESOURCE_GROUP = "/subscriptions/{subscription}/resourceGroups/{resource_group}"
SCOPE_AADIAM = "/providers/Microsoft.aadiam"

_PARAM = re.compile(r"\{[a-z_]+\}")


@dataclass(frozen=True)
class Call:
    """One request the product makes: `template` is the path with `{name}` for each variable segment
    (Graph paths after /v1.0; ARM paths from the root; Log Analytics after /v1), matched case-insensitively.
    `least` is the least-privileged permission Microsoft documents for this call alone; the grant that
    holds it may be wider because one grant covers several calls."""

    service: Service
    method: str
    template: str
    features: frozenset[Feature]
    least: str
    source: str

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method and self.pattern().match(path) is not None

    def pattern(self) -> re.Pattern[str]:
        parts = _PARAM.split(self.template)
        keys = _PARAM.findall(self.template)
        body = "".join(
            re.escape(p) + (_segment(keys[i]) if i < len(keys) else "") for i, p in enumerate(parts)
        )
        return re.compile(f"^{body}/?$", re.IGNORECASE)


def _segment(key: str) -> str:
    return ".+?" if key in ("{path}", "{scope}") else "[^/]+"


@dataclass(frozen=True)
class Grant:
    """What an administrator grants once. `id` is stable: faults, evidence and tests name grants by it."""

    id: str
    identity: Identity
    kind: Kind
    permission: str  # the permission or role name as Microsoft spells it
    resource: str  # "Microsoft Graph", "Azure Resource Manager"
    scope: str  # SCOPE_* (a placeholder filled from the playbook)
    why: str
    source: str  # Microsoft's page naming this permission or role for these calls
    calls: tuple[Call, ...]
    # permissions or roles Microsoft documents as also sufficient (higher privileged); present is enough
    satisfied_by: tuple[str, ...] = ()
    # Exchange RBAC for Applications role that scopes a mail permission to mailboxes
    exchange_role: str | None = None
    # Sites.Selected: the role the app needs on the site itself ("read" | "write")
    site_role: str | None = None
    notes: tuple[str, ...] = field(default=())
    # An optional grant's absence is a finding, not a blocker: the product proves the same thing another way
    # (Entra's diagnostic settings: the drill's own SigninLogs and AuditLogs rows arriving; issue 25 case 4).
    optional: bool = False

    @property
    def features(self) -> frozenset[Feature]:
        out: set[Feature] = set()
        for call in self.calls:
            out |= call.features
        return frozenset(out)

    @property
    def fault(self) -> str:
        """The simulator fault that withholds this grant (generated from the registry)."""
        return "grant-missing-" + self.id

    def accepts(self, held: str) -> bool:
        names = {self.permission.lower(), *(s.lower() for s in self.satisfied_by)}
        return held.lower() in names
