"""The drill app's setup failures: what the administrator must change, per AADSTS code or page.

A setup failure is not the break-glass path breaking: the drill app's registration, consent or assignment
is wrong, and the sign-in ends at once naming the fix, never clicking through (accepting a consent prompt as
the break-glass account would grant permissions during the drill). Codes and their meanings are Microsoft's
(drill/browser/aadsts.csv; how each shows: drill/sim/identity/PAGES.md, "Setup failures").
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

CONSENT_PAGE = "consent"  # "Permissions requested"
ADMIN_APPROVAL_PAGE = "admin_approval"  # "Need admin approval"


@dataclass(frozen=True)
class AppRequest:
    """What the sign-in asked for, read back from the authorize URL (none of it secret)."""

    client_id: str = ""
    tenant: str = ""
    redirect_uri: str = ""
    scopes: tuple[str, ...] = ()

    @classmethod
    def from_authorize_url(cls, url: str) -> AppRequest:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        segments = [s for s in parts.path.split("/") if s]
        oidc = {"openid", "profile", "offline_access", "email"}
        return cls(
            client_id=query.get("client_id", ""),
            tenant=segments[0] if segments else "",
            redirect_uri=query.get("redirect_uri", ""),
            scopes=tuple(s for s in query.get("scope", "").split() if s not in oidc),
        )


def _consent(req: AppRequest) -> str:
    scopes = ", ".join(s.rsplit("/", 1)[-1] for s in req.scopes) or "the drill app's delegated permissions"
    return (
        f"grant admin consent to the drill app {req.client_id} for {scopes} before the drill: a Global "
        "Administrator or Privileged Role Administrator opens Entra admin center > Enterprise applications > "
        "the drill app > Permissions > 'Grant admin consent for <tenant>' (or "
        f"https://login.microsoftonline.com/{req.tenant}/adminconsent?client_id={req.client_id}); "
        "`drill preflight` checks the grant"
    )


def _fixes(req: AppRequest) -> dict[int | str, str]:
    consent = _consent(req)
    return {
        50011: (
            f"register the redirect URI '{req.redirect_uri}' on the drill app {req.client_id} (App "
            "registrations > the app > Authentication > 'Mobile and desktop applications'), or set "
            "drill_app.redirect_uri in the playbook to a URI the app lists"
        ),
        700016: (
            f"the app id {req.client_id} is not registered in tenant {req.tenant}: check drill_app.client_id "
            "and tenant.id in the playbook, or register the drill app in this tenant (App registrations > "
            "New registration, a public client)"
        ),
        7000218: (
            f"make the drill app {req.client_id} a public client: App registrations > the app > "
            "Authentication > register the redirect URI under 'Mobile and desktop applications' and set "
            "'Allow public client flows' to Yes; the drill never holds a client secret or client assertion"
        ),
        65001: consent,
        CONSENT_PAGE: consent + "; the drill never accepts the prompt itself",
        90094: consent + " (the signed-in account may not consent itself)",
        90095: consent + " (an admin consent request is pending: approve it or grant consent directly)",
        ADMIN_APPROVAL_PAGE: consent + " (the signed-in account may not consent itself)",
        50105: (
            f"assign the break-glass account (or a group it is a direct member of) to the drill app "
            f"{req.client_id}: Enterprise applications > the app > Users and groups > Add user/group; or "
            "set 'Assignment required?' to No on its Properties"
        ),
    }


def setup_fix(key: int | str | None, req: AppRequest) -> str | None:
    """The administrator's fix for a setup failure (an AADSTS code or a page), None when it is not one."""
    if key is None:
        return None
    return _fixes(req).get(key)


SETUP_CODES = frozenset(k for k in _fixes(AppRequest()) if isinstance(k, int))
