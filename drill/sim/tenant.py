"""Tenant state loaded from a YAML fixture whose objects are shaped like Microsoft Graph v1.0 resources.

Keeping fixture objects in Graph's own shape means the Graph surface serves them almost verbatim and the
identity side reads the same facts (accounts, roles, policies) without a second model that could drift.
Simulator-only facts (passkeys, workspace, alert rules, mailboxes) use camelCase keys in the same spirit.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"

Obj = dict[str, Any]

_SECTIONS = (
    "domains",
    "users",
    "groups",
    "administrativeUnits",
    "roleDefinitions",
    "roleAssignments",
    "roleEligibilities",
    "conditionalAccessPolicies",
    "authenticationStrengthPolicies",
    "authenticationContextClassReferences",
    "roleManagementPolicies",
    "applications",
    "diagnosticSettings",
    "alertRules",
    "actionGroups",
    "mailboxes",
    "passkeys",
)


@dataclass
class Tenant:
    """Mutable tenant state; faults and the control plane change it in place."""

    id: str
    display_name: str
    primary_domain: str
    # Graph domain objects (id, isInitial, isDefault, isVerified, passwordValidityPeriodInDays, ...).
    domains: list[Obj] = field(default_factory=list)
    # Users carry Graph's user properties plus `authenticationMethods` (registered methods other than the
    # password and passkeys, each with its "@odata.type") for /users/{id}/authentication/methods.
    users: list[Obj] = field(default_factory=list)
    groups: list[Obj] = field(default_factory=list)
    administrativeUnits: list[Obj] = field(default_factory=list)
    roleDefinitions: list[Obj] = field(default_factory=list)
    # Active assignments as Graph's roleAssignmentScheduleInstances (assignmentType Assigned|Activated,
    # memberType Direct|Group|Inherited, startDateTime, endDateTime, directoryScopeId, principalId, ...).
    roleAssignments: list[Obj] = field(default_factory=list)
    roleEligibilities: list[Obj] = field(default_factory=list)
    conditionalAccessPolicies: list[Obj] = field(default_factory=list)
    authenticationStrengthPolicies: list[Obj] = field(default_factory=list)
    authenticationMethodsPolicy: Obj = field(default_factory=dict)
    authenticationContextClassReferences: list[Obj] = field(default_factory=list)
    # PIM settings per role: {roleDefinitionId, id (policy id), rules: [unifiedRoleManagementPolicyRule]};
    # roles without one get PIM's defaults (drill/sim/graph/posture.py).
    roleManagementPolicies: list[Obj] = field(default_factory=list)
    # {appId, displayName, kind: public|confidential, redirectUris, clientSecretSha256?, appRoles granted...}
    applications: list[Obj] = field(default_factory=list)
    diagnosticSettings: list[Obj] = field(default_factory=list)
    workspace: Obj = field(default_factory=dict)
    alertRules: list[Obj] = field(default_factory=list)
    actionGroups: list[Obj] = field(default_factory=list)
    mailboxes: list[Obj] = field(default_factory=list)
    # Registered FIDO2 credentials: {id, userId, credentialId (b64url), publicKey (b64url COSE), aaGuid,
    # signCount, displayName, model, createdDateTime, attestationCertificates, attestationLevel}
    passkeys: list[Obj] = field(default_factory=list)
    # Trusted vendor attestation roots (PEM text) for attestation enforcement.
    attestationRoots: list[str] = field(default_factory=list)
    seedLogs: dict[str, list[Obj]] = field(default_factory=dict)
    # Where the monitoring lives in Azure Resource Manager (issue 13): {subscriptionId, resourceGroup,
    # location}. Rules, action groups and the workspace get resource ids under it (drill/sim/arm/).
    azure: Obj = field(default_factory=dict)
    # Which branch Entra's sign-in pages take (drill/sim/identity/pages.py): preferredCredential 7|1000,
    # showKmsi, interrupt (cmsi|proofUp|mfaRegistrationNag|mfa), fidoOfferedToBrowser.
    signInExperience: Obj = field(default_factory=dict)
    source: Path | None = None
    # Tenant licence: without Entra ID P2 (or Governance) PIM's schedule APIs answer 400
    # AadPremiumLicenseRequired (`tenant.pimLicensed: false` in a fixture).
    pim_licensed: bool = True

    # -- lookups -------------------------------------------------------------------------------------------
    def user(self, key: str) -> Obj | None:
        """By object id or UPN (case-insensitive), as Graph's /users/{id|upn} resolves."""
        low = key.lower()
        for u in self.users:
            if u["id"] == key or str(u.get("userPrincipalName", "")).lower() == low:
                return u
        return None

    def group(self, group_id: str) -> Obj | None:
        return next((g for g in self.groups if g["id"] == group_id), None)

    def application(self, app_id: str) -> Obj | None:
        return next((a for a in self.applications if a["appId"] == app_id), None)

    def groups_of(self, user_id: str) -> list[Obj]:
        """Direct group memberships (assigned membership only, which is all role-assignable groups allow)."""
        return [g for g in self.groups if user_id in g.get("members", [])]

    def passkeys_of(self, user_id: str) -> list[Obj]:
        return [p for p in self.passkeys if p["userId"] == user_id]

    def mailbox(self, address: str) -> Obj | None:
        low = address.lower()
        return next((m for m in self.mailboxes if str(m["address"]).lower() == low), None)

    def active_assignments(self, user_id: str, now: datetime) -> list[Obj]:
        """Schedule instances in force now for the user, directly or through a group it belongs to."""
        principals = {user_id} | {g["id"] for g in self.groups_of(user_id)}
        return [a for a in self.roleAssignments if a["principalId"] in principals and _in_force(a, now)]

    def direct_holders(self, role_id: str, now: datetime) -> set[str]:
        """Principal ids holding the role themselves (not through a group) by an instance in force now.

        One pass over the assignments, for questions about every user at once: asking active_assignments
        per user scans every group for each one, quadratic on a large tenant (bench/audit_scale.py).
        """
        return {
            a["principalId"]
            for a in self.roleAssignments
            if a["roleDefinitionId"] == role_id and _in_force(a, now)
        }

    def active_role_template_ids(self, user_id: str, now: datetime) -> list[str]:
        """What `wids` carries: template ids of directory roles active for the user right now."""
        return sorted({a["roleDefinitionId"] for a in self.active_assignments(user_id, now)})

    def copy(self) -> Tenant:
        return copy.deepcopy(self)


def _in_force(assignment: Obj, now: datetime) -> bool:
    start, end = assignment.get("startDateTime"), assignment.get("endDateTime")
    return not (start and _parse(start) > now) and not (end and _parse(end) <= now)


def _parse(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class TenantFixtureError(ValueError):
    """A fixture that cannot describe a tenant; the message names the file and the key."""


# Parsed fixture texts, keyed by the text itself: ruamel's pure-Python parser spends ~70 ms of CPU on the
# demo tenant, and every simulator a test (or `drill demo`) starts loads the same file. Keying on the
# content, not the path or mtime, means an edited file is always parsed afresh; each caller gets a deep
# copy, so no tenant shares a mutable object with the cache or with another tenant.
_PARSED: dict[str, Any] = {}
_PARSED_MAX = 8


def _parse_fixture(path: Path, text: str) -> Any:
    if text not in _PARSED:
        try:
            data = YAML(typ="safe").load(text)
        except Exception as exc:
            raise TenantFixtureError(f"{path}: not valid YAML: {exc}") from exc
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[text] = data
    return copy.deepcopy(_PARSED[text])


def load_tenant(path: Path) -> Tenant:
    try:
        text = path.read_text(encoding="utf-8")
    except Exception as exc:  # unreadable, missing, not UTF-8: the same error the parser gives
        raise TenantFixtureError(f"{path}: not valid YAML: {exc}") from exc
    data = _parse_fixture(path, text)
    if not isinstance(data, dict) or "tenant" not in data:
        raise TenantFixtureError(f"{path}: a tenant fixture needs a top-level `tenant:` mapping")
    return tenant_from_dict(data, source=path)


def tenant_from_dict(data: dict[str, Any], source: Path | None = None) -> Tenant:
    where = source or "<tenant>"
    head = data.get("tenant") or {}
    try:
        tid = str(uuid.UUID(str(head["id"])))
    except (KeyError, ValueError) as exc:
        raise TenantFixtureError(f"{where}: tenant.id must be a GUID") from exc
    unknown = set(data) - {
        "tenant",
        "authenticationMethodsPolicy",
        "workspace",
        "attestationRoots",
        "seedLogs",
        "signInExperience",
        "azure",
        *_SECTIONS,
    }
    if unknown:
        raise TenantFixtureError(f"{where}: unknown top-level keys {sorted(unknown)}")
    t = Tenant(
        id=tid,
        display_name=str(head.get("displayName", "Simulated tenant")),
        primary_domain=str(head.get("primaryDomain", "contoso.test")),
        authenticationMethodsPolicy=dict(data.get("authenticationMethodsPolicy") or {}),
        workspace=dict(data.get("workspace") or {}),
        attestationRoots=list(data.get("attestationRoots") or []),
        seedLogs=dict(data.get("seedLogs") or {}),
        signInExperience=dict(data.get("signInExperience") or {}),
        azure=dict(data.get("azure") or {}),
        source=source,
        pim_licensed=bool(head.get("pimLicensed", True)),
    )
    for name in _SECTIONS:
        value = data.get(name) or []
        if not isinstance(value, list):
            raise TenantFixtureError(f"{where}: `{name}` must be a list")
        setattr(t, name, [dict(v) for v in value])
    return t
