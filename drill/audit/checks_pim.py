"""Posture checks for the PIM-managed custom role that maintains the accounts (BG.PIM.1-6).

PIM settings are read only through the role management policies (unifiedRoleManagementPolicy with its
rules), as Microsoft's "PIM rules overview" names them: Expiration_EndUser_Assignment,
Approval_EndUser_Assignment, Enablement_EndUser_Assignment and AuthenticationContext_EndUser_Assignment
(https://learn.microsoft.com/graph/identity-governance-pim-rules-overview). Standing access (BG.PIM.6) is
any active assignment at the units' scope that PIM did not activate.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from drill.audit.checks_common import (
    INSTANCE_KEYS,
    PHISHING_RESISTANT_MODES,
    PHISHING_RESISTANT_STRENGTH,
    Obj,
    label,
    policy_strength_id,
    restricted_units,
    strength_by_id,
    trim,
    unread,
)
from drill.audit.model import CheckFn, Outcome
from drill.isotime import parse_duration

if TYPE_CHECKING:
    from drill.audit.facts import Facts
    from drill.playbook import Playbook

MAX_ACTIVATION = timedelta(hours=1)


# -- PIM -----------------------------------------------------------------------------------------------------
def _unit_scopes(facts: Facts) -> set[str]:
    return {f"/administrativeunits/{str(u.get('id')).lower()}" for u in restricted_units(facts)}


def _management_roles(facts: Facts) -> tuple[list[Obj], list[Obj]]:
    """(custom roles eligible at a restricted unit's scope, those eligibility instances)."""
    scopes = _unit_scopes(facts)
    roles = {str(r.get("id")).lower(): r for r in facts.unit_roles}
    elig = [e for e in facts.unit_eligibilities if str(e.get("directoryScopeId", "")).lower() in scopes]
    custom: dict[str, Obj] = {}
    for e in elig:
        role = roles.get(str(e.get("roleDefinitionId", "")).lower())
        if role is not None and role.get("isBuiltIn") is False:
            custom[str(role.get("id")).lower()] = role
    kept = [e for e in elig if str(e.get("roleDefinitionId", "")).lower() in custom]
    return list(custom.values()), kept


PIM_FACTS = ("admin_units", "unit_roles", "unit_eligibilities", "unit_assignments")


def check_pim_role(facts: Facts, playbook: Playbook) -> Outcome:
    err = unread(facts, *PIM_FACTS)
    if err:
        return err
    roles, _ = _management_roles(facts)
    evidence = [trim(r, "id", "displayName", "isBuiltIn", "templateId") for r in facts.unit_roles] + [
        trim(e, *INSTANCE_KEYS) for e in facts.unit_eligibilities
    ]
    if not _unit_scopes(facts):
        return Outcome.failed(
            "no restricted-management unit holds the accounts, so no role can be scoped to it", evidence
        )
    if not roles:
        builtin = [label(r) for r in facts.unit_roles if r.get("isBuiltIn") is not False]
        extra = f" (only built-in roles: {', '.join(builtin)})" if builtin else ""
        return Outcome.failed(f"no custom role is eligible through PIM at the unit's scope{extra}", evidence)
    return Outcome.passed(
        f"custom role(s) eligible at the unit's scope: {', '.join(label(r) for r in roles)}",
        evidence,
        roles=[r.get("id") for r in roles],
    )


def check_no_standing_unit_access(facts: Facts, playbook: Playbook) -> Outcome:
    """Active role assignments at the scope of the accounts' units (roleAssignmentScheduleInstances,
    directoryScopeId /administrativeUnits/{id}) that PIM did not activate: assignmentType Assigned (or none,
    from the licence-less roleAssignments fallback, which shows only standing assignments)."""
    err = unread(facts, "admin_units", "unit_assignments", "unit_roles")
    if err:
        return err
    scopes = {f"/administrativeunits/{str(u.get('id')).lower()}" for u in facts.admin_units}
    roles = {str(r.get("id")).lower(): r for r in facts.unit_roles}
    at_units = [a for a in facts.unit_assignments if str(a.get("directoryScopeId", "")).lower() in scopes]
    standing = [a for a in at_units if str(a.get("assignmentType") or "Assigned") != "Activated"]
    evidence: list[Obj] = [{"unitScopes": sorted(scopes)}, *(trim(a, *INSTANCE_KEYS) for a in at_units)]

    def who(a: Obj) -> str:
        role = roles.get(str(a.get("roleDefinitionId", "")).lower())
        until = a.get("endDateTime") or "no end date"
        return (
            f"{a.get('principalId')} holds {label(role, str(a.get('roleDefinitionId')))} actively ({until})"
        )

    if standing:
        return Outcome.failed(
            f"{len(standing)} standing assignment(s) at the unit's scope bypass PIM: "
            + "; ".join(who(a) for a in standing),
            evidence,
            [who(a) for a in standing],
        )
    activated = len(at_units)
    return Outcome.passed(
        f"no standing assignment at the units' scope ({activated} PIM activation(s) in force)", evidence
    )


def _rule(policy: Obj, rule_id: str) -> Obj | None:
    return next((r for r in policy.get("rules") or [] if r.get("id") == rule_id), None)


def _per_role(
    facts: Facts,
    rule_id: str,
    judge: Any,
    ok: str,
    extra_unread: tuple[str, ...] = (),
) -> Outcome:
    """Judge one rule of each unit-management role's PIM policy; no such role fails (nothing is guarded)."""
    err = unread(facts, *PIM_FACTS, "role_policies", *extra_unread)
    if err:
        return err
    roles, _ = _management_roles(facts)
    if not roles:
        return Outcome.failed(
            "no custom role is eligible at the restricted unit's scope (BG.PIM.1): "
            "there is no activation to judge"
        )
    evidence: list[Obj] = []
    offenders: list[str] = []
    problems: dict[str, str] = {}
    for role in roles:
        rid = str(role.get("id"))
        policy = next((p for k, p in facts.role_policies.items() if k.lower() == rid.lower()), None)
        rule = _rule(policy, rule_id) if policy else None
        evidence.append(
            {
                "role": trim(role, "id", "displayName"),
                "policy": trim(policy, "id", "displayName", "scopeId", "scopeType"),
                "rule": rule,
            }
        )
        if policy is None:
            problem: str | None = "no role management policy was found for the role"
        elif rule is None:
            problem = f"the policy has no {rule_id} rule"
        else:
            problem = judge(rule)
        if problem:
            offenders.append(label(role))
            problems[label(role)] = problem
    if offenders:
        return Outcome.failed(
            "; ".join(f"{k}: {v}" for k, v in problems.items()), evidence, offenders, problems=problems
        )
    return Outcome.passed(ok, evidence)


def check_pim_duration(facts: Facts, playbook: Playbook) -> Outcome:
    """unifiedRoleManagementPolicyExpirationRule: maximumDuration (ISO 8601) at most PT1H."""

    def judge(rule: Obj) -> str | None:
        duration = parse_duration(rule.get("maximumDuration"))
        if duration is None:
            return f"maximumDuration {rule.get('maximumDuration')!r} is not a duration"
        if duration > MAX_ACTIVATION:
            return f"activation may last {rule.get('maximumDuration')}, more than PT1H"
        return None

    return _per_role(facts, "Expiration_EndUser_Assignment", judge, "activation lasts at most one hour")


def check_pim_approval(facts: Facts, playbook: Playbook) -> Outcome:
    """unifiedRoleManagementPolicyApprovalRule.setting (approvalSettings): isApprovalRequired and at least
    one approval stage with primaryApprovers."""

    def judge(rule: Obj) -> str | None:
        setting = rule.get("setting") or {}
        if setting.get("isApprovalRequired") is not True:
            return "approval is not required (setting.isApprovalRequired is not true)"
        stages = setting.get("approvalStages") or []
        if not any(s.get("primaryApprovers") for s in stages):
            return "approval is required but no approver is named"
        return None

    return _per_role(
        facts, "Approval_EndUser_Assignment", judge, "activation requires approval by named approvers"
    )


def check_pim_justification(facts: Facts, playbook: Playbook) -> Outcome:
    """unifiedRoleManagementPolicyEnablementRule.enabledRules contains Justification."""

    def judge(rule: Obj) -> str | None:
        if "Justification" not in (rule.get("enabledRules") or []):
            return f"enabledRules {rule.get('enabledRules')!r} lack Justification"
        return None

    return _per_role(facts, "Enablement_EndUser_Assignment", judge, "activation requires a justification")


def _strength_phishing_resistant(facts: Facts, sid: str | None) -> bool:
    if not sid:
        return False
    if sid.lower() == PHISHING_RESISTANT_STRENGTH:
        return True
    strength = strength_by_id(facts, sid)
    combos = [str(c) for c in (strength or {}).get("allowedCombinations") or []]
    return bool(combos) and all(c in PHISHING_RESISTANT_MODES for c in combos)


def _context_refs(policy: Obj) -> list[str]:
    apps = (policy.get("conditions") or {}).get("applications") or {}
    return [str(c) for c in apps.get("includeAuthenticationContextClassReferences") or []]


def context_policy_problem(facts: Facts, claim: str) -> tuple[str | None, list[Obj]]:
    """Whether an enabled CA policy on the context demands phishing-resistant strength AND a compliant
    device, with sign-in frequency every time (conditionalAccessApplications
    .includeAuthenticationContextClassReferences; grantControls; sessionControls.signInFrequency)."""
    on_context = [p for p in facts.ca_policies if claim in _context_refs(p)]
    ev = [
        trim(p, "id", "displayName", "state", "conditions", "grantControls", "sessionControls")
        for p in on_context
    ]
    if not on_context:
        return f"no CA policy targets the authentication context {claim}", ev
    reasons = []
    for p in on_context:
        grant = p.get("grantControls") or {}
        freq = (p.get("sessionControls") or {}).get("signInFrequency") or {}
        missing = []
        if p.get("state") != "enabled":
            missing.append(f"state {p.get('state')}")
        if not _strength_phishing_resistant(facts, policy_strength_id(p)):
            missing.append("no phishing-resistant authentication strength")
        if "compliantDevice" not in (grant.get("builtInControls") or []):
            missing.append("no compliant device")
        elif str(grant.get("operator", "")).upper() != "AND":
            missing.append("controls joined by OR (either one suffices)")
        if not (freq.get("isEnabled") is True and freq.get("frequencyInterval") == "everyTime"):
            missing.append("sign-in frequency is not every time")
        if not missing:
            return None, ev
        reasons.append(f"{label(p)}: {', '.join(missing)}")
    return "; ".join(reasons), ev


def check_pim_context(facts: Facts, playbook: Playbook) -> Outcome:
    """unifiedRoleManagementPolicyAuthenticationContextRule: isEnabled and claimValue; then the CA policy."""
    extra_evidence: list[Obj] = []

    def judge(rule: Obj) -> str | None:
        claim = rule.get("claimValue")
        if rule.get("isEnabled") is not True or not claim:
            return "no authentication context is required on activation (isEnabled false or no claimValue)"
        context = next((c for c in facts.auth_contexts if c.get("id") == claim), None)
        if context is None:
            return f"the authentication context {claim} does not exist"
        problem, ev = context_policy_problem(facts, str(claim))
        extra_evidence.append({"authenticationContext": trim(context, "id", "displayName", "isAvailable")})
        extra_evidence.extend(ev)
        return problem

    out = _per_role(
        facts,
        "AuthenticationContext_EndUser_Assignment",
        judge,
        "activation requires an authentication context whose CA policy demands phishing-resistant MFA, a "
        "compliant device and sign-in every time",
        ("auth_contexts", "ca_policies", "auth_strengths"),
    )
    out.evidence.extend(extra_evidence)
    return out


CHECKS: dict[str, CheckFn] = {
    "BG.PIM.1": check_pim_role,
    "BG.PIM.2": check_pim_duration,
    "BG.PIM.3": check_pim_approval,
    "BG.PIM.4": check_pim_justification,
    "BG.PIM.5": check_pim_context,
    "BG.PIM.6": check_no_standing_unit_access,
}
