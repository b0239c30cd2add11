"""Advice about a valid playbook: settings that work but fall short of published guidance.

These are findings, not errors: a tenant may have reasons (a 180-day cadence agreed with its auditor), so the
drill runs and the report carries the advice. Each message names its source so the reader can weigh it.
"""

from __future__ import annotations

import re
from collections import defaultdict

from drill.playbook.load import custom_cloud_pairings
from drill.playbook.model import GRAPH_CLI_APP_ID, Playbook

_INITIAL_DOMAIN_SUFFIX = {
    "public": ".onmicrosoft.com",
    "usgov": ".onmicrosoft.us",
    "china": ".partner.onmschina.cn",
}


def playbook_warnings(pb: Playbook) -> list[str]:
    """Advisory findings for a playbook, most important first; empty when it follows the guidance."""
    out: list[str] = _untrusted_endpoints(pb)
    schedule = pb.schedule
    if schedule.cycle_days > 90:
        out.append(
            f"schedule.cycle_days is {schedule.cycle_days}: Microsoft's guidance is to validate emergency "
            "access accounts at least every 90 days, and after staff changes or subscription changes"
        )
    if len(pb.accounts) < 2:
        out.append(
            "only one account: Microsoft recommends at least two emergency access accounts, so one failure "
            "(a lost key, a disabled account) does not lock the tenant out"
        )
    out.extend(_key_diversity(pb))
    if not 2 <= schedule.ga_ceiling <= 4:
        out.append(
            f"schedule.ga_ceiling is {schedule.ga_ceiling}: CIS recommends two to four Global Administrators "
            "(CISA two to eight; Microsoft fewer than five)"
        )
    out.extend(_account_hygiene(pb))
    if not schedule.reminder_lead_days:
        out.append("schedule.reminder_lead_days is empty: nobody is reminded before a drill falls due")
    if pb.drill_app.client_id == GRAPH_CLI_APP_ID:
        out.append(
            "no drill_app: the drill signs in as Microsoft Graph Command Line Tools; a dedicated app "
            "registration makes drill sign-ins easy to tell apart from real emergency use in the logs"
        )
    if not pb.conditional_access.expected_policies:
        out.append(
            "conditional_access.expected_policies is empty: the drill cannot prove the break-glass accounts "
            "meet exactly the Conditional Access policies you intend"
        )
    if pb.observer.kind == "client-secret-env":
        out.append("the observer uses a client secret: a certificate or managed identity is harder to leak")
    out.extend(_query_matches_ids(pb))
    if pb.monitoring is None:
        out.append(MONITORING_MISSING)
    return out


# Issue 13: a playbook from before the `monitoring:` section still runs, without the ARM preflight checks.
MONITORING_MISSING = (
    "no `monitoring:` section: preflight cannot read the deployed alert rule, its action group and the Entra "
    "diagnostic setting from Azure Resource Manager, so a rule disabled or edited in the portal is found "
    "only after the alert SLA; add monitoring: {subscription_id, resource_group, workspace_resource_id, "
    "rules: [rule names or ids]} and give the observer Monitoring Reader on that resource group"
)


def _key_diversity(pb: Playbook) -> list[str]:
    out: list[str] = []
    by_aaguid: dict[str, list[str]] = defaultdict(list)
    by_vendor: dict[str, list[str]] = defaultdict(list)
    for account in pb.accounts:
        for aaguid in account.key.aaguids:
            by_aaguid[str(aaguid)].append(account.name)
        by_vendor[account.key.vendor.strip().lower()].append(account.name)
    for aaguid_text, names in by_aaguid.items():
        if len(set(names)) > 1:
            out.append(
                f"accounts {', '.join(sorted(set(names)))} expect the same key model (AAGUID {aaguid_text}): "
                "one vendor flaw or recall could lock out both; use keys from different vendors"
            )
    for vendor, names in by_vendor.items():
        if len(names) > 1:
            out.append(
                f"accounts {', '.join(names)} use keys from the same vendor ({vendor}): prefer different "
                "vendors so one firmware flaw cannot disable every emergency account"
            )
    return out


def _account_hygiene(pb: Playbook) -> list[str]:
    out: list[str] = []
    cloud = pb.tenant.cloud
    suffix = _INITIAL_DOMAIN_SUFFIX.get(cloud) if isinstance(cloud, str) else None
    places: dict[str, list[str]] = defaultdict(list)
    for account in pb.accounts:
        if suffix and not account.upn.lower().endswith(suffix):
            out.append(
                f"account {account.name} ({account.upn}) is not on the tenant's initial *{suffix} domain: "
                "Microsoft recommends cloud-only emergency accounts there, so a federation or DNS problem "
                "cannot block them"
            )
        if len(account.authorised_people) < 2:
            out.append(
                f"account {account.name} has one authorised person: if they are unavailable in an emergency, "
                "nobody may use it"
            )
        places[account.storage_location.strip().lower()].append(account.name)
    for place, names in places.items():
        if len(names) > 1:
            out.append(
                f"accounts {', '.join(names)} keep their keys in the same place ({place}): one incident "
                "(fire, theft, a lost safe code) could take every key at once"
            )
    return out


def _query_matches_ids(pb: Playbook) -> list[str]:
    try:
        query = pb.alert_query()
    except OSError:
        return []
    text = query.lower()
    missing = [a.name for a in pb.accounts if str(a.object_id).lower() not in text]
    out = []
    if missing:
        out.append(
            f"the alert query does not mention the object id of {', '.join(missing)}: passkey sign-ins can "
            "show the user id instead of the UPN, so match on UserId / object ids"
        )
    if re.search(r"userprincipalname\s*(==|=~|in|has|contains)", text) and missing:
        out.append(
            "the alert query matches on UserPrincipalName: renamed or passkey sign-ins can slip past it"
        )
    return out


def _untrusted_endpoints(pb: Playbook) -> list[str]:
    """First and loud: with the flag on, Microsoft tokens go to hosts that are not Microsoft's."""
    spec = pb.tenant.cloud
    if isinstance(spec, str) or not spec.custom.allow_untrusted_endpoints:
        return []
    pairings = custom_cloud_pairings(pb)
    if not pairings:
        return [
            "tenant.cloud.custom.allow_untrusted_endpoints is true but nothing needs it: remove it, so a "
            "later edit that sends Microsoft tokens elsewhere is refused"
        ]
    return [
        "UNTRUSTED ENDPOINTS (tenant.cloud.custom.allow_untrusted_endpoints: true): the break-glass "
        "account's tokens go to hosts that are not Microsoft's. Use this only against a simulator or a proxy "
        f"you run. {'; '.join(p.message.split('; ', 1)[0] for p in pairings)}"
    ]
