"""Faults in the drill app's own setup: each ends the sign-in with the AADSTS code Entra gives for it.

The drill app is the tenant's public client (the demo fixture has one). Where each failure shows (error
page, consent prompt, token endpoint) is in PAGES.md, "Setup failures". The unconsented app
(`drill-app-unconsented`, which shows the consent prompt) is drill/sim/grant_faults.py's, beside the other
withheld grants.
"""

from __future__ import annotations

from typing import Any

from drill.sim.state import Fault, SimState

# An app id no tenant fixture uses: "the playbook's client id is not in this tenant".
ELSEWHERE_APP_ID = "0e1d2c3b-4a59-4687-9a8b-7c6d5e4f3a21"


def drill_apps(state: SimState) -> list[dict[str, Any]]:
    return [a for a in state.tenant.applications if a.get("kind") == "public"]


def _redirect_uri_missing(state: SimState) -> None:
    for app in drill_apps(state):
        app["redirectUris"] = ["https://localhost:8400/drill-callback"]  # someone else's URI, not the drill's


def _unknown(state: SimState) -> None:
    for app in drill_apps(state):
        app["appId"] = ELSEWHERE_APP_ID


def _not_public(state: SimState) -> None:
    for app in drill_apps(state):
        app["kind"] = "confidential"  # "Allow public client flows" off, URI under Web: a secret is expected


def _assignment_required(state: SimState) -> None:
    for app in drill_apps(state):
        app["appRoleAssignmentRequired"] = True
        app["assignedPrincipals"] = []


def _unconsented(state: SimState) -> None:
    for app in drill_apps(state):
        app["delegatedScopes"] = []  # as drill-app-unconsented (grant_faults.py) does


def _admin_consent_required(state: SimState) -> None:
    """No consent, and the break-glass accounts hold no active role that could grant it at sign-in (their
    Global Administrator is only eligible): Entra answers 'Need admin approval' instead of the prompt."""
    from drill.sim.graph.role_faults import FAULTS as ROLE_FAULTS

    _unconsented(state)
    next(f for f in ROLE_FAULTS if f.name == "ga-eligible-only").apply(state)


FAULTS: list[Fault] = [
    Fault(
        "drill-app-redirect-uri-missing",
        "sign-in",
        "the drill app no longer lists the playbook's redirect URI (AADSTS50011 on the error page)",
        _redirect_uri_missing,
    ),
    Fault(
        "drill-app-unknown",
        "sign-in",
        "the playbook's drill app id is not in the tenant (AADSTS700016 on the error page)",
        _unknown,
    ),
    Fault(
        "drill-app-not-public",
        "token",
        "the drill app is no longer a public client: the code exchange needs a secret (AADSTS7000218)",
        _not_public,
    ),
    Fault(
        "drill-app-assignment-required",
        "sign-in",
        "the drill app requires assignment and the break-glass accounts are not assigned (AADSTS50105)",
        _assignment_required,
    ),
    Fault(
        "drill-app-admin-consent-required",
        "sign-in",
        "no consent, and the accounts hold no active role that could grant it: 'Need admin approval' "
        "(AADSTS90094)",
        _admin_consent_required,
    ),
]
