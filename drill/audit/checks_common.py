"""What the Graph-side checks share: unread facts, naming objects for people, and who a CA policy covers.

The checks judge Microsoft's own JSON shapes (Graph v1.0 resource pages); the helpers here are the few
readings several areas need, so that the accounts, methods and Conditional Access checks agree on what
"the break-glass policies" and "the accounts' groups" are, and never contradict one another (the
complaint about other tools in issue 14).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from drill.audit.model import Outcome

if TYPE_CHECKING:
    from drill.audit.facts import AccountFacts, Facts
    from drill.playbook import Account, Playbook

Obj = dict[str, Any]

# Built-in authentication strength "Phishing-resistant MFA" (authenticationStrengthPolicy, built-in ids).
PHISHING_RESISTANT_STRENGTH = "00000000-0000-0000-0000-000000000004"
# authenticationMethodModes Microsoft lists as phishing-resistant (authentication strengths overview).
PHISHING_RESISTANT_MODES = frozenset({"windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"})


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


def restricted_units(facts: Facts) -> list[Obj]:
    """The accounts' administrative units with restricted management (isMemberManagementRestricted)."""
    return [u for u in facts.admin_units if u.get("isMemberManagementRestricted") is True]


def unread(facts: Facts, *names: str) -> Outcome | None:
    """ERROR naming every needed fact that could not be read; None when all were read.

    "accounts.<name>" also counts as unread when the reader produced no AccountFacts for that playbook
    account at all: a check iterating the facts' accounts would otherwise skip it and pass.
    """
    missing = {n: facts.unread[n] for n in names if n in facts.unread}
    for n in names:
        kind, _, name = n.partition(".")
        whole_account = kind == "accounts" and name and "." not in name
        if whole_account and n not in missing and facts.account(name) is None:
            missing[n] = "no facts were read for this playbook account"
    if not missing:
        return None
    said = "; ".join(f"{n}: {why}" for n, why in missing.items())
    return Outcome.error(f"could not judge: {said}", unread=missing)


def account_fields(facts: Facts, playbook: Playbook, *fields: str) -> list[str]:
    """The unread-fact names of these per-account fields, plus the whole-account ones."""
    names = ["accounts"]
    for account in playbook.accounts:
        names.append(f"accounts.{account.name}")
        names.extend(f"accounts.{account.name}.{f}" for f in fields)
    return names


def label(obj: Obj | None, fallback: str = "?") -> str:
    """'displayName (id)' for people; the id alone when the object has no name."""
    if not obj:
        return fallback
    name = obj.get("displayName") or obj.get("name") or obj.get("userPrincipalName")
    oid = obj.get("id", fallback)
    return f"{name} ({oid})" if name else str(oid)


def account_label(facts: Facts, name: str) -> str:
    acc = facts.account(name)
    user = acc.user if acc else None
    if user:
        return f"{user.get('displayName') or name} ({user.get('id')})"
    return f"{name} ({acc.object_id if acc else 'not read'})"


def trim(obj: Obj | None, *keys: str) -> Obj:
    """Only the properties a check judged: evidence stays small and never carries unrelated data."""
    if not obj:
        return {}
    return {k: obj.get(k) for k in keys if k in obj}


def lower_ids(values: Any) -> set[str]:
    return {str(v).lower() for v in (values or []) if v is not None}


def group_id(playbook: Playbook) -> str | None:
    gid = playbook.conditional_access.break_glass_group_id
    return str(gid).lower() if gid else None


def account_groups(facts: Facts, acc: AccountFacts) -> set[str]:
    """Ids of the groups the account is in (transitiveMemberOf), plus the break-glass group if it lists it.

    transitiveMemberOf returns groups, administrative units and directory roles, each with "@odata.type";
    only "#microsoft.graph.group" entries count as groups.
    """
    ids = {
        str(o.get("id")).lower()
        for o in acc.member_of
        if str(o.get("@odata.type", "")).lower() == "#microsoft.graph.group"
    }
    if any(str(m.get("id")).lower() == acc.object_id.lower() for m in facts.group_members) and facts.group:
        ids.add(str(facts.group.get("id")).lower())
    return ids


def account_roles(acc: AccountFacts) -> set[str]:
    """Role template ids of the directory roles the account holds (directoryRole in transitiveMemberOf)."""
    return {
        str(o.get("roleTemplateId")).lower()
        for o in acc.member_of
        if str(o.get("@odata.type", "")).lower() == "#microsoft.graph.directoryrole"
        and o.get("roleTemplateId")
    }


def policy_users(policy: Obj) -> Obj:
    """conditionalAccessPolicy.conditions.users (conditionalAccessUsers), {} when absent."""
    return ((policy.get("conditions") or {}).get("users")) or {}


def _is_guest_like(acc: AccountFacts) -> bool:
    return bool(acc.user) and str((acc.user or {}).get("userType", "")).lower() == "guest"


def policy_includes(policy: Obj, facts: Facts, acc: AccountFacts) -> list[str]:
    """Why the policy's users condition includes the account ([] when it does not).

    conditionalAccessUsers: includeUsers ("All", "GuestsOrExternalUsers", "None" or ids), includeGroups,
    includeRoles (role template ids), includeGuestsOrExternalUsers (conditionalAccessGuestsOrExternalUsers).
    The guest conditions match only guests and external users (Microsoft: "internalGuest" is a guest of this
    tenant, userType Guest); the break-glass accounts are members, so they match only when userType is Guest.
    """
    users = policy_users(policy)
    reasons = []
    inc_users = lower_ids(users.get("includeUsers"))
    if "all" in inc_users:
        reasons.append("includes All users")
    if acc.object_id.lower() in inc_users:
        reasons.append("includes the account directly")
    if _is_guest_like(acc) and (
        "guestsorexternalusers" in inc_users or users.get("includeGuestsOrExternalUsers")
    ):
        reasons.append("includes guests, and the account is a guest")
    groups = lower_ids(users.get("includeGroups")) & account_groups(facts, acc)
    if groups:
        reasons.append(f"includes group(s) {', '.join(sorted(groups))}")
    roles = lower_ids(users.get("includeRoles")) & account_roles(acc)
    if roles:
        reasons.append(f"includes role(s) {', '.join(sorted(roles))}")
    return reasons


def policy_excludes(policy: Obj, facts: Facts, acc: AccountFacts) -> list[str]:
    """Why the policy's users condition excludes the account ([] when it does not); exclusion wins."""
    users = policy_users(policy)
    reasons = []
    if acc.object_id.lower() in lower_ids(users.get("excludeUsers")):
        reasons.append("excludes the account directly")
    groups = lower_ids(users.get("excludeGroups")) & account_groups(facts, acc)
    if groups:
        reasons.append(f"excludes group(s) {', '.join(sorted(groups))}")
    roles = lower_ids(users.get("excludeRoles")) & account_roles(acc)
    if roles:
        reasons.append(f"excludes role(s) {', '.join(sorted(roles))}")
    if _is_guest_like(acc) and users.get("excludeGuestsOrExternalUsers"):
        reasons.append("excludes guests, and the account is a guest")
    return reasons


def applies_to(policy: Obj, facts: Facts, acc: AccountFacts) -> bool:
    """By the users condition alone (fail closed: other conditions could narrow it, never widen it)."""
    return bool(policy_includes(policy, facts, acc)) and not policy_excludes(policy, facts, acc)


def break_glass_policies(facts: Facts, playbook: Playbook) -> tuple[list[Obj], list[str]]:
    """The two break-glass policies: the playbook's expected policies with expect: applies (by id, else by
    display name); without any, the policies that include the break-glass group. Also the names of expected
    policies that were not found."""
    expected = [p for p in playbook.conditional_access.expected_policies if p.expect == "applies"]
    found: list[Obj] = []
    missing: list[str] = []
    for exp in expected:
        match = None
        for pol in facts.ca_policies:
            if exp.id is not None and str(pol.get("id", "")).lower() == str(exp.id).lower():
                match = pol
                break
            if exp.id is None and exp.display_name and pol.get("displayName") == exp.display_name:
                match = pol
                break
        if match is None:
            missing.append(f"{exp.display_name or ''} ({exp.id or 'no id'})".strip())
        elif match not in found:
            found.append(match)
    if expected:
        return found, missing
    gid = group_id(playbook)
    by_group = [
        p for p in facts.ca_policies if gid and gid in lower_ids(policy_users(p).get("includeGroups"))
    ]
    return by_group, missing


def registered_aaguids(facts: Facts) -> dict[str, list[str]]:
    """aaGuid (lower-case) -> the keys registered with it, 'account: key name (id)'."""
    out: dict[str, list[str]] = {}
    for acc in facts.accounts:
        for key in acc.fido2:
            aaguid = str(key.get("aaGuid") or "").lower()
            if aaguid:
                out.setdefault(aaguid, []).append(f"{acc.name}: {label(key)}")
    return out


def strength_by_id(facts: Facts, sid: str | None) -> Obj | None:
    if not sid:
        return None
    return next((s for s in facts.auth_strengths if str(s.get("id", "")).lower() == sid.lower()), None)


def policy_strength_id(policy: Obj) -> str | None:
    """grantControls.authenticationStrength.id (conditionalAccessGrantControls), None when absent."""
    strength = (policy.get("grantControls") or {}).get("authenticationStrength") or {}
    sid = strength.get("id")
    return str(sid) if sid else None


def per_account(
    facts: Facts,
    playbook: Playbook,
    fields: tuple[str, ...],
    judge: Callable[[Account, AccountFacts], tuple[str | None, Obj]],
    ok_summary: str,
    fail_summary: str,
    extra_unread: tuple[str, ...] = (),
) -> Outcome:
    """Run `judge` on each playbook account present in the directory: it returns (problem or None, its
    evidence). A missing account (Graph 404) is an offender of every per-account check."""
    err = unread(facts, *account_fields(facts, playbook, "user", *fields), *extra_unread)
    if err:
        return err
    evidence: list[Obj] = []
    offenders: list[str] = []
    problems: dict[str, str] = {}
    for account in playbook.accounts:
        acc = facts.account(account.name)
        who = account_label(facts, account.name)
        if acc is None or acc.user is None:
            offenders.append(who)
            problems[account.name] = "the account does not exist in the directory (Graph: 404)"
            evidence.append({"account": account.name, "objectId": str(account.object_id), "user": None})
            continue
        problem, ev = judge(account, acc)
        evidence.append({"account": account.name, **ev})
        if problem:
            offenders.append(who)
            problems[account.name] = problem
    if offenders:
        said = "; ".join(f"{n}: {p}" for n, p in problems.items())
        return Outcome.failed(f"{fail_summary}: {said}", evidence, offenders, problems=problems)
    return Outcome.passed(ok_summary, evidence)
