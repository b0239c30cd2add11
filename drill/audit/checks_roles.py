"""Posture checks for roles: Global Administrator (BG.GA.*), the group (BG.GRP.*), the restricted
administrative unit (BG.AU.1) and the PIM-managed custom role that maintains the accounts (BG.PIM.*).

GA is judged by the drill's own `ga_proof.classify`, so an audit and a drill can never disagree about the
same assignment. PIM settings are read only through the role management policies (unifiedRoleManagementPolicy
with its rules), as Microsoft's "PIM rules overview" names them:
Expiration_EndUser_Assignment, Approval_EndUser_Assignment, Enablement_EndUser_Assignment and
AuthenticationContext_EndUser_Assignment (https://learn.microsoft.com/graph/identity-governance-pim-rules-overview).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from drill.audit.checks_common import (
    PHISHING_RESISTANT_MODES,
    PHISHING_RESISTANT_STRENGTH,
    Obj,
    account_fields,
    account_label,
    group_id,
    label,
    lower_ids,
    policy_strength_id,
    strength_by_id,
    trim,
    unread,
)
from drill.audit.model import CheckFn, Outcome
from drill.isotime import parse_duration
from drill.steps.context import GLOBAL_ADMIN
from drill.steps.ga_proof import classify, classify_assignments

if TYPE_CHECKING:
    from drill.audit.facts import Facts
    from drill.playbook import Playbook

INSTANCE_KEYS = (
    "id",
    "principalId",
    "roleDefinitionId",
    "directoryScopeId",
    "assignmentType",
    "memberType",
    "startDateTime",
    "endDateTime",
)
MAX_ACTIVATION = timedelta(hours=1)


def _is_schedule_shape(items: list[Obj]) -> bool:
    """Schedule instances carry memberType/assignmentType; the licence-less fallback
    (unifiedRoleAssignment from /roleManagement/directory/roleAssignments) does not."""
    return any("memberType" in i or "assignmentType" in i for i in items)


def check_ga_direct(facts: Facts, playbook: Playbook) -> Outcome:
    err = unread(facts, "ga_assignments", "ga_eligibilities", *account_fields(facts, playbook, "user"))
    if err:
        return err
    schedule = _is_schedule_shape(facts.ga_assignments) or not facts.ga_assignments
    evidence: list[Obj] = []
    offenders: list[str] = []
    reasons: dict[str, str] = {}
    for account in playbook.accounts:
        uid = str(account.object_id)
        acc = facts.account(account.name)
        # The drill reads with $filter=principalId eq '{user}': give classify exactly that view.
        active = [i for i in facts.ga_assignments if str(i.get("principalId", "")).lower() == uid.lower()]
        eligible = [i for i in facts.ga_eligibilities if str(i.get("principalId", "")).lower() == uid.lower()]
        if acc is None or acc.user is None:
            ok, why = False, "the account does not exist in the directory (Graph: 404)"
        elif schedule:
            ok, why = classify(active, eligible, uid)
        else:
            ok, why = classify_assignments(active, uid)
        mine = [trim(i, *INSTANCE_KEYS) for i in active + eligible]
        evidence.append({"account": account.name, "objectId": uid, "instances": mine, "verdict": why})
        reasons[account.name] = why
        if not ok:
            offenders.append(account_label(facts, account.name))
    api = "PIM schedule instances" if schedule else "role assignments (no PIM: permanence not provable)"
    if offenders:
        said = "; ".join(f"{n}: {r}" for n, r in reasons.items())
        return Outcome.failed(
            f"Global Administrator not as required: {said}",
            evidence,
            offenders,
            reasons=reasons,
            read_through=api,
        )
    return Outcome.passed(
        "every account holds Global Administrator directly, active, permanent and tenant-wide",
        evidence,
        reasons=reasons,
        read_through=api,
    )


def _person_label(obj: Obj) -> str:
    name = obj.get("displayName") or obj.get("userPrincipalName")
    upn = obj.get("userPrincipalName")
    shown = f"{name} <{upn}>" if upn and name != upn else name
    return f"{shown} ({obj.get('id')})" if shown else str(obj.get("id"))


def ga_counts(facts: Facts, playbook: Playbook) -> tuple[list[str], dict[str, str]]:
    """(principals holding GA, people holding GA by id -> label).

    Principals: distinct principalIds of the instances that are not memberType Group (a group is one, as
    Microsoft and ScubaGear count). People: each user principal, and each member of a group principal, once;
    a principal that is neither a user nor a group (a service principal) counts as one as well.
    """
    ga = [
        i
        for i in facts.ga_assignments + facts.ga_eligibilities
        if str(i.get("roleDefinitionId", GLOBAL_ADMIN)).lower() == GLOBAL_ADMIN and i.get("principalId")
    ]
    principals = sorted({str(i["principalId"]).lower() for i in ga if i.get("memberType") != "Group"})
    names = {str(a.object_id).lower(): account_label(facts, a.name) for a in playbook.accounts}
    people: dict[str, str] = {}
    for pid in principals:
        found = facts.ga_principals.get(pid) or {}
        if found.get("@odata.type") == "#microsoft.graph.group":
            for m in found.get("members") or []:
                people.setdefault(str(m.get("id")).lower(), _person_label(m))
        elif found:
            people.setdefault(pid, names.get(pid) or _person_label(found))
        else:
            people.setdefault(pid, names.get(pid, pid))
    for i in ga:  # members' inherited instances name the same people; a member read late still counts
        if i.get("memberType") == "Group":
            pid = str(i["principalId"]).lower()
            people.setdefault(pid, names.get(pid, pid))
    return principals, people


def check_ga_ceiling(facts: Facts, playbook: Playbook) -> Outcome:
    """Two readings of "how many Global Administrators": principals and people; the larger one decides."""
    err = unread(facts, "ga_assignments", "ga_eligibilities", "ga_principals")
    if err:
        return err
    principals, people = ga_counts(facts, playbook)
    n = max(len(principals), len(people))
    ceiling = playbook.schedule.ga_ceiling
    standards = {
        "playbook_ceiling": {"limit": f"<= {ceiling}", "met": n <= ceiling},
        "recommended_design": {"limit": "<= 4", "met": n <= 4},
        "microsoft": {"limit": "< 5", "met": n < 5},
        "scubagear_ms_aad_7_1": {"limit": "2..8", "met": 2 <= n <= 8},
    }
    met = [k for k, v in standards.items() if v["met"]]
    ga_ids = {str(i.get("id")) for i in facts.ga_assignments}
    evidence: list[Obj] = [
        trim(i, *INSTANCE_KEYS)
        for i in facts.ga_assignments + facts.ga_eligibilities
        if str(i.get("roleDefinitionId", GLOBAL_ADMIN)).lower() == GLOBAL_ADMIN
    ]
    evidence.append({"people": sorted(people.values())})
    active = {
        str(i.get("principalId")).lower()
        for i in facts.ga_assignments
        if str(i.get("id")) in ga_ids and i.get("memberType") != "Group"
    }
    details: dict[str, Any] = {
        "count": n,
        "readings": {
            "principals": {
                "count": len(principals),
                "who": principals,
                "how": "distinct principals holding the role, active or eligible; a group counts as one "
                "(Microsoft, ScubaGear MS.AAD.7.1)",
            },
            "people": {
                "count": len(people),
                "who": sorted(people.values()),
                "how": "groups expanded to their members, each person counted once",
            },
        },
        "verdict_reading": "the larger of the two counts",
        "active": len(active & set(principals)),
        "principals": principals,
        "standards": standards,
    }
    summary = (
        f"{n} Global Administrator(s) (ceiling {ceiling}): {len(principals)} principal(s), "
        f"{len(people)} people; meets: {', '.join(met) or 'none'}"
    )
    if n > ceiling:
        return Outcome.failed(summary, evidence, sorted(people.values()), **details)
    return Outcome.passed(summary, evidence, **details)


GROUP_KEYS = (
    "id",
    "displayName",
    "isAssignableToRole",
    "securityEnabled",
    "mailEnabled",
    "groupTypes",
    "membershipRule",
    "membershipRuleProcessingState",
)


def _group_or_error(facts: Facts, playbook: Playbook) -> Outcome | None:
    if group_id(playbook) is None:
        return Outcome.failed("the playbook names no conditional_access.break_glass_group_id")
    err = unread(facts, "group")
    if err:
        return err
    if facts.group is None:
        return Outcome.failed(
            f"the break-glass group {group_id(playbook)} does not exist (Graph: 404)",
            offenders=[str(group_id(playbook))],
        )
    return None


def check_group_kind(facts: Facts, playbook: Playbook) -> Outcome:
    """group resource: isAssignableToRole, securityEnabled, mailEnabled, groupTypes ('DynamicMembership'
    marks a dynamic group), membershipRule."""
    bad = _group_or_error(facts, playbook)
    if bad:
        return bad
    g = facts.group or {}
    problems = []
    if g.get("isAssignableToRole") is not True:
        problems.append("isAssignableToRole is not true")
    if g.get("securityEnabled") is not True:
        problems.append("securityEnabled is not true")
    if g.get("mailEnabled") is True:
        problems.append("mail-enabled (not a pure security group)")
    if "dynamicmembership" in {str(t).lower() for t in g.get("groupTypes") or []} or g.get("membershipRule"):
        problems.append("dynamic membership (groupTypes DynamicMembership / a membershipRule)")
    if "Unified" in (g.get("groupTypes") or []):
        problems.append("a Microsoft 365 group (groupTypes Unified), not a security group")
    ev = [trim(g, *GROUP_KEYS)]
    if problems:
        return Outcome.failed(f"{label(g)}: {'; '.join(problems)}", ev, [label(g)], problems=problems)
    return Outcome.passed(f"{label(g)} is a role-assignable security group with assigned membership", ev)


def check_group_members(facts: Facts, playbook: Playbook) -> Outcome:
    bad = _group_or_error(facts, playbook)
    if bad:
        return bad
    err = unread(facts, "group_members")
    if err:
        return err
    members = {str(m.get("id")).lower(): m for m in facts.group_members}
    wanted = {str(a.object_id).lower(): a.name for a in playbook.accounts}
    extra = [label(m) for mid, m in members.items() if mid not in wanted]
    missing = [account_label(facts, name) for oid, name in wanted.items() if oid not in members]
    ev = [
        {
            "group": trim(facts.group, "id", "displayName"),
            "members": [
                trim(m, "id", "displayName", "userPrincipalName", "@odata.type") for m in members.values()
            ],
        }
    ]
    if extra or missing:
        parts = ([f"extra members: {', '.join(extra)}"] if extra else []) + (
            [f"accounts missing: {', '.join(missing)}"] if missing else []
        )
        return Outcome.failed(
            f"the group does not hold exactly the accounts: {'; '.join(parts)}",
            ev,
            extra + missing,
            extra=extra,
            missing=missing,
        )
    return Outcome.passed(f"the group holds exactly the {len(wanted)} accounts", ev)


AU_KEYS = ("id", "displayName", "isMemberManagementRestricted", "visibility")


def _restricted_units(facts: Facts) -> list[Obj]:
    return [u for u in facts.admin_units if u.get("isMemberManagementRestricted") is True]


def check_admin_unit(facts: Facts, playbook: Playbook) -> Outcome:
    """administrativeUnit: isMemberManagementRestricted, members (ids) under "members"."""
    err = unread(facts, "admin_units")
    if err:
        return err
    gid = group_id(playbook)
    wanted = {str(a.object_id).lower() for a in playbook.accounts}
    if gid:
        wanted.add(gid)
    names = {str(a.object_id).lower(): account_label(facts, a.name) for a in playbook.accounts}
    if gid:
        names[gid] = label(facts.group, gid)
    evidence = [
        {**trim(u, *AU_KEYS), "members": sorted(lower_ids(m.get("id") for m in u.get("members") or []))}
        for u in facts.admin_units
    ]
    best: tuple[int, Obj | None, set[str]] = (-1, None, wanted)
    for unit in _restricted_units(facts):
        held = lower_ids(m.get("id") for m in unit.get("members") or [])
        missing = wanted - held
        if not missing:
            return Outcome.passed(
                f"restricted-management unit {label(unit)} holds the accounts and the group",
                evidence,
                unit=unit.get("id"),
            )
        if len(wanted) - len(missing) > best[0]:
            best = (len(wanted) - len(missing), unit, missing)
    if best[1] is None:
        unrestricted = [label(u) for u in facts.admin_units]
        why = (
            f"the accounts' units are not restricted-management: {', '.join(unrestricted)}"
            if unrestricted
            else "the accounts are in no administrative unit"
        )
        return Outcome.failed(why, evidence, [names[w] for w in sorted(wanted)])
    missing_names = [names[m] for m in sorted(best[2])]
    if not gid:
        missing_names.append("(the playbook names no break-glass group)")
    return Outcome.failed(
        f"no restricted-management unit holds all of them; {label(best[1])} lacks {', '.join(missing_names)}",
        evidence,
        missing_names,
    )


# -- PIM -----------------------------------------------------------------------------------------------------
def _unit_scopes(facts: Facts) -> set[str]:
    return {f"/administrativeunits/{str(u.get('id')).lower()}" for u in _restricted_units(facts)}


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
    "BG.GA.1": check_ga_direct,
    "BG.GA.2": check_ga_ceiling,
    "BG.GRP.1": check_group_kind,
    "BG.GRP.2": check_group_members,
    "BG.AU.1": check_admin_unit,
    "BG.PIM.1": check_pim_role,
    "BG.PIM.2": check_pim_duration,
    "BG.PIM.3": check_pim_approval,
    "BG.PIM.4": check_pim_justification,
    "BG.PIM.5": check_pim_context,
    "BG.PIM.6": check_no_standing_unit_access,
}
