"""Posture checks BG.CA.1-5: the two break-glass Conditional Access policies, and no other policy.

"The two policies" are the playbook's expected policies with `expect: applies` (else those that include
the break-glass group), so an authentication-strength policy aimed at the accounts is never counted
against "excluded from every other policy" (a contradiction users report in other tools). Who a policy
covers is read from conditionalAccessPolicy.conditions.users (conditionalAccessUsers) against each
account's transitiveMemberOf (groups, nested ones too, and directory roles); exclusion wins, as Entra applies
policies and exclusions to nested groups. Other conditions (apps, platforms, locations) are not used to
clear another policy: they narrow it, and narrowing is not an exclusion; on the break-glass policies
themselves any narrowing fails (`narrowing`), since it leaves some sign-ins to other methods.
The What-If evaluation (BG.CA.5) is Entra's own answer and is taken as it comes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drill.audit.checks_common import (
    Obj,
    account_fields,
    applies_to,
    break_glass_policies,
    group_id,
    label,
    lower_ids,
    policy_excludes,
    policy_includes,
    policy_strength_id,
    policy_users,
    strength_by_id,
    trim,
    unread,
)
from drill.audit.model import CheckFn, Outcome, Status

if TYPE_CHECKING:
    from drill.audit.facts import Facts
    from drill.playbook import Playbook

POLICY_KEYS = ("id", "displayName", "state", "conditions", "grantControls", "sessionControls")
CA_FACTS = ("ca_policies", "group", "group_members")


# clientAppTypes that together are every client (conditionalAccessClientApp): "all", or each kind listed.
EVERY_CLIENT = frozenset({"browser", "mobileappsanddesktopclients", "exchangeactivesync", "other"})


def narrowing(policy: Obj) -> list[str]:
    """The conditions (conditionalAccessConditionSet) that keep the policy from some sign-ins of its users.

    Anything beyond users and "All" resources narrows it: client app types short of all, platforms short of
    all or with exclusions, locations short of All or with exclusions, a device filter, risk levels, insider
    risk, authentication flows, an application filter, user actions or authentication contexts. A narrowed
    break-glass policy leaves the other sign-ins to whatever the accounts hold. Unknown condition values
    count as narrowing (fail closed).
    """
    cond = policy.get("conditions") or {}
    apps = cond.get("applications") or {}
    out = []
    if apps.get("excludeApplications"):
        out.append(f"excludes applications {apps['excludeApplications']}")
    for key in ("includeUserActions", "includeAuthenticationContextClassReferences"):
        if apps.get(key):
            out.append(f"targets {key} {apps[key]}")
    if apps.get("applicationFilter"):
        out.append("an application filter limits the resources")
    types = {str(t).lower() for t in cond.get("clientAppTypes") or ["all"]}
    if "all" not in types and not types >= EVERY_CLIENT:
        out.append(f"only client app types {sorted(cond.get('clientAppTypes') or [])}")
    platforms = cond.get("platforms")
    if platforms:
        inc = {str(p).lower() for p in platforms.get("includePlatforms") or []}
        if "all" not in inc:
            out.append(f"only platforms {sorted(platforms.get('includePlatforms') or [])}")
        if platforms.get("excludePlatforms"):
            out.append(f"excludes platforms {platforms['excludePlatforms']}")
    locations = cond.get("locations")
    if locations:
        if "All" not in (locations.get("includeLocations") or []):
            out.append(f"only locations {locations.get('includeLocations')}")
        if locations.get("excludeLocations"):
            out.append(f"excludes locations {locations['excludeLocations']}")
    if (cond.get("devices") or {}).get("deviceFilter"):
        out.append("a device filter limits the devices")
    for key in ("userRiskLevels", "signInRiskLevels", "servicePrincipalRiskLevels"):
        if cond.get(key):
            out.append(f"only {key} {cond[key]}")
    for key in ("insiderRiskLevels", "authenticationFlows", "clientApplications"):
        if cond.get(key):
            out.append(f"limited by {key}")
    return out


def _covers_all_accounts(policy: Obj, facts: Facts) -> list[str]:
    """Accounts the policy does not reach (not included, or excluded)."""
    return [acc.name for acc in facts.accounts if not applies_to(policy, facts, acc)]


def _bg_or_fail(facts: Facts, playbook: Playbook) -> tuple[list[Obj], Outcome | None]:
    bg, missing = break_glass_policies(facts, playbook)
    if missing:
        return bg, Outcome.failed(
            f"expected break-glass policies not found: {', '.join(missing)}",
            [trim(p, *POLICY_KEYS) for p in bg],
            missing,
        )
    if not bg:
        return bg, Outcome.failed(
            "no break-glass policy: the playbook expects none to apply and no policy "
            "includes the break-glass group"
        )
    return bg, None


def _policy_problem_common(policy: Obj, facts: Facts, playbook: Playbook) -> list[str]:
    problems = []
    if policy.get("state") != "enabled":
        problems.append(f"state is {policy.get('state')!r}, not enabled")
    gid = group_id(playbook)
    if not gid or gid not in lower_ids(policy_users(policy).get("includeGroups")):
        problems.append("does not include the break-glass group")
    unreached = _covers_all_accounts(policy, facts)
    if unreached:
        problems.append(f"does not reach {', '.join(unreached)}")
    if "All" not in (((policy.get("conditions") or {}).get("applications") or {}).get("includeApplications")
                     or []):  # fmt: skip
        problems.append("not for all resources (includeApplications All)")
    problems.extend(f"narrowed: {n}" for n in narrowing(policy))
    return problems


def check_policy_strength(facts: Facts, playbook: Playbook) -> Outcome:
    """Policy 1: enabled, the group, all resources, grant = a custom authentication strength (no weaker
    alternative: other built-in controls only with operator AND)."""
    err = unread(facts, *CA_FACTS, "auth_strengths", *account_fields(facts, playbook, "user", "member_of"))
    if err:
        return err
    bg, bad = _bg_or_fail(facts, playbook)
    if bad:
        return bad
    reasons = []
    for policy in bg:
        sid = policy_strength_id(policy)
        if not sid:
            continue
        problems = _policy_problem_common(policy, facts, playbook)
        strength = strength_by_id(facts, sid)
        if strength is None:
            problems.append(f"its authentication strength {sid} does not exist")
        elif strength.get("policyType") != "custom":
            problems.append(f"its strength {label(strength)} is not a custom one")
        grant = policy.get("grantControls") or {}
        if grant.get("builtInControls") and str(grant.get("operator", "")).upper() != "AND":
            problems.append(f"grant {grant.get('builtInControls')} OR the strength: either one suffices")
        if not problems:
            return Outcome.passed(
                f"{label(policy)} requires {label(strength)} of the group for all resources",
                [trim(policy, *POLICY_KEYS)],
                policy=policy.get("id"),
            )
        reasons.append(f"{label(policy)}: {'; '.join(problems)}")
    ev = [trim(p, *POLICY_KEYS) for p in bg]
    if not reasons:
        return Outcome.failed(
            "no break-glass policy requires an authentication strength", ev, [label(p) for p in bg]
        )
    return Outcome.failed("; ".join(reasons), ev, [label(p) for p in bg if policy_strength_id(p)])


HOURS = {"hours": 1, "days": 24}
REPORT_ONLY = "enabledForReportingButNotEnforced"


def check_policy_session(facts: Facts, playbook: Playbook) -> Outcome:
    """Policy 2: sessionControls.signInFrequency (isEnabled, value, type hours|days, frequencyInterval
    timeBased) of at most 4 hours, and persistentBrowser {isEnabled, mode never}."""
    err = unread(facts, *CA_FACTS, *account_fields(facts, playbook, "user", "member_of"))
    if err:
        return err
    bg, bad = _bg_or_fail(facts, playbook)
    if bad:
        return bad
    reasons = []
    for policy in bg:
        session = policy.get("sessionControls") or {}
        if not session:
            continue
        problems = _policy_problem_common(policy, facts, playbook)
        freq = session.get("signInFrequency") or {}
        hours = (freq.get("value") or 0) * HOURS.get(str(freq.get("type")), 10**6)
        if not (
            freq.get("isEnabled") is True
            and freq.get("frequencyInterval", "timeBased") == "timeBased"
            and 0 < hours <= 4
        ):
            problems.append(
                f"sign-in frequency is {freq.get('value')} {freq.get('type')} "
                f"({freq.get('frequencyInterval')}, enabled {freq.get('isEnabled')}), not 4 hours"
            )
        browser = session.get("persistentBrowser") or {}
        if not (browser.get("isEnabled") is True and browser.get("mode") == "never"):
            problems.append(
                f"persistent browser is {browser.get('mode')!r} (enabled {browser.get('isEnabled')}), "
                "not never"
            )
        if not problems:
            return Outcome.passed(
                f"{label(policy)}: {freq.get('value')}-{freq.get('type')} sign-in frequency, "
                "never-persistent browser",
                [trim(policy, *POLICY_KEYS)],
                policy=policy.get("id"),
            )
        reasons.append(f"{label(policy)}: {'; '.join(problems)}")
    ev = [trim(p, *POLICY_KEYS) for p in bg]
    if not reasons:
        return Outcome.failed("no break-glass policy sets session controls", ev, [label(p) for p in bg])
    return Outcome.failed("; ".join(reasons), ev, [label(p) for p in bg if p.get("sessionControls")])


def _blocking(policy: Obj) -> bool:
    return "block" in ((policy.get("grantControls") or {}).get("builtInControls") or [])


def _offending(
    facts: Facts, playbook: Playbook, state: str
) -> tuple[list[Obj], dict[str, Any], list[Obj], dict[str, Any]]:
    """Other policies in `state` that reach an account: (offenders, per-policy reasons, judged policies,
    and the policies that exclude an account some other way than through the break-glass group)."""
    bg, _ = break_glass_policies(facts, playbook)
    bg_ids = {str(p.get("id", "")).lower() for p in bg}
    gid = group_id(playbook)
    judged = [
        p for p in facts.ca_policies if p.get("state") == state and str(p.get("id", "")).lower() not in bg_ids
    ]
    offenders: list[Obj] = []
    reasons: dict[str, Any] = {}
    indirect: dict[str, Any] = {}
    for policy in judged:
        hits = {
            acc.name: policy_includes(policy, facts, acc)
            for acc in facts.accounts
            if applies_to(policy, facts, acc)
        }
        if hits:
            offenders.append(policy)
            reasons[label(policy)] = hits
            continue
        by_group = bool(gid) and gid in lower_ids(policy_users(policy).get("excludeGroups"))
        other = {
            acc.name: policy_excludes(policy, facts, acc)
            for acc in facts.accounts
            if policy_includes(policy, facts, acc) and not by_group
        }
        if other:
            indirect[label(policy)] = other
    return offenders, reasons, judged, indirect


def _exclusion_check(facts: Facts, playbook: Playbook, state: str, what: str) -> Outcome:
    """Fails when a policy effectively applies to an account (exclusions by nested group, user id or role
    count: Entra applies policies to nested groups); warns when every account is excluded but not through
    the break-glass group itself."""
    err = unread(facts, *CA_FACTS, *account_fields(facts, playbook, "user", "member_of"))
    if err:
        return err
    offenders, reasons, judged, indirect = _offending(facts, playbook, state)
    blocking = [p for p in offenders if _blocking(p)]
    details = {
        "all_policies": {"offending": [label(p) for p in offenders], "passed": not offenders},
        "blocking_only": {"offending": [label(p) for p in blocking], "passed": not blocking},
        "why": reasons,
        "not_through_group": indirect,
        "judged": len(judged),
        "verdict_reading": "all_policies",
        "warns_when": "an account is excluded, but not through the break-glass group itself",
    }
    ev: list[Obj] = [
        {"state": state, "policies_in_state": len(judged), "policies_read": len(facts.ca_policies)}
    ]
    ev += [
        {
            **trim(p, "id", "displayName", "state"),
            "users": policy_users(p),
            "builtInControls": (p.get("grantControls") or {}).get("builtInControls"),
            "excludes": {acc.name: policy_excludes(p, facts, acc) for acc in facts.accounts},
        }
        for p in judged
    ]
    if offenders:
        return Outcome.failed(
            f"{len(offenders)} {what} polic(ies) would apply to the accounts: "
            f"{', '.join(label(p) for p in offenders)} ({len(blocking)} of them blocking)",
            ev,
            [label(p) for p in offenders],
            **details,
        )
    if indirect:
        said = "; ".join(
            f"{name}: " + ", ".join(f"{acc} ({' and '.join(why)})" for acc, why in accs.items())
            for name, accs in indirect.items()
        )
        return Outcome(
            Status.WARNING,
            f"the accounts are excluded from all {len(judged)} other {what} policies, but {len(indirect)} "
            f"exclude them other than through the break-glass group: {said}",
            ev,
            list(indirect),
            details,
        )
    return Outcome.passed(
        f"the accounts are excluded from all {len(judged)} other {what} policies", ev, **details
    )


def check_excluded_elsewhere(facts: Facts, playbook: Playbook) -> Outcome:
    """Both readings in details (all enabled policies; blocking ones only, grant builtInControls block);
    the verdict is the all-policies reading, the stricter."""
    return _exclusion_check(facts, playbook, "enabled", "enabled")


def check_report_only(facts: Facts, playbook: Playbook) -> Outcome:
    return _exclusion_check(facts, playbook, REPORT_ONLY, "report-only")


def check_what_if(facts: Facts, playbook: Playbook) -> Outcome:
    """whatIfAnalysisResult items (conditionalAccessPolicy + policyApplies, analysisReasons) per account:
    exactly the two break-glass policies must have policyApplies true among the enforced policies.

    What If evaluates report-only policies too (Microsoft: "Only policies that are enabled or in report-only
    mode are included in an evaluation run"); one that applies is listed in the details and judged by
    BG.CA.4, so a single report-only policy does not fail two checks."""
    err = unread(facts, "ca_policies", *account_fields(facts, playbook, "what_if"))
    if err:
        return err
    bg, missing = break_glass_policies(facts, playbook)
    expected = {str(p.get("id", "")).lower(): p for p in bg}
    ev: list[Obj] = []
    offenders: list[str] = []
    details: dict[str, Any] = {}
    for account in playbook.accounts:
        acc = facts.account(account.name)
        items = acc.what_if if acc else []
        states = {str(p.get("id", "")).lower(): p.get("state") for p in facts.ca_policies}
        applying = [i for i in items if i.get("policyApplies") is True]
        report_only = [
            label(i)
            for i in applying
            if (i.get("state") or states.get(str(i.get("id", "")).lower())) == REPORT_ONLY
        ]
        applied = {
            str(i.get("id", "")).lower(): i
            for i in applying
            if (i.get("state") or states.get(str(i.get("id", "")).lower())) != REPORT_ONLY
        }
        extra = [label(i) for k, i in applied.items() if k not in expected]
        lacking = [label(p) for k, p in expected.items() if k not in applied]
        ev.append(
            {
                "account": account.name,
                "applies": [
                    trim(i, "id", "displayName", "state", "policyApplies", "analysisReasons")
                    for i in applied.values()
                ],
            }
        )
        details[account.name] = {"extra": extra, "missing": lacking}
        if report_only:
            details[account.name]["report_only_applies"] = report_only  # judged by BG.CA.4
        if acc is None:
            offenders.append(f"{account.name}: not evaluated")
        offenders.extend(f"{account.name}: {x} also applies" for x in extra)
        offenders.extend(f"{account.name}: {x} does not apply" for x in lacking)
    if missing:
        offenders.extend(f"expected policy not found: {m}" for m in missing)
    if not expected:
        offenders.append("no break-glass policy is known (playbook expected_policies, or the group's)")
    if offenders:
        return Outcome.failed(
            f"What-If differs from the two break-glass policies: {'; '.join(offenders)}",
            ev,
            offenders,
            **details,
        )
    return Outcome.passed(
        f"What-If: exactly {', '.join(label(p) for p in bg)} apply to each account", ev, **details
    )


CHECKS: dict[str, CheckFn] = {
    "BG.CA.1": check_policy_strength,
    "BG.CA.2": check_policy_session,
    "BG.CA.3": check_excluded_elsewhere,
    "BG.CA.4": check_report_only,
    "BG.CA.5": check_what_if,
}
