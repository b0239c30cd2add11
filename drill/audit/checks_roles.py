"""Posture checks for roles: Global Administrator (BG.GA.*), the group (BG.GRP.*) and the restricted
administrative unit (BG.AU.1); `CHECKS` also carries the unit's management role (BG.PIM.*, checks_pim.py).

GA is judged by the drill's own `ga_proof.classify`, so an audit and a drill can never disagree about the
same assignment. The ceiling (BG.GA.2) counts both principals and people and judges by the larger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drill.audit import checks_pim
from drill.audit.checks_common import (
    INSTANCE_KEYS,
    Obj,
    account_fields,
    account_label,
    group_id,
    label,
    lower_ids,
    restricted_units,
    trim,
    unread,
)
from drill.audit.model import CheckFn, Outcome
from drill.steps.context import GLOBAL_ADMIN
from drill.steps.ga_proof import classify, classify_assignments

if TYPE_CHECKING:
    from drill.audit.facts import Facts
    from drill.playbook import Playbook


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
    for unit in restricted_units(facts):
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


CHECKS: dict[str, CheckFn] = {
    "BG.GA.1": check_ga_direct,
    "BG.GA.2": check_ga_ceiling,
    "BG.GRP.1": check_group_kind,
    "BG.GRP.2": check_group_members,
    "BG.AU.1": check_admin_unit,
    **checks_pim.CHECKS,  # the unit's management role, judged in its own module
}
