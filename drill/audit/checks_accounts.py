"""Posture checks BG.ACC.1-8: the break-glass accounts themselves, as Graph's user objects show them.

Every account comes from the playbook (never guessed from "the most excluded user"); an account Graph did
not find (404) fails each check naming it, and an account whose object could not be read is an ERROR.
Shapes: user (v1.0 resource: accountEnabled, onPremisesSyncEnabled, passwordPolicies, userType,
assignedLicenses), domain (isInitial, passwordValidityPeriodInDays), authenticationMethod subtypes by
"@odata.type", licenseDetails (skuPartNumber).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from drill.audit.checks_common import Obj, account_fields, account_label, per_account, trim, unread
from drill.audit.model import CheckFn, Outcome

if TYPE_CHECKING:
    from drill.audit.facts import AccountFacts, Facts
    from drill.playbook import Account, Playbook

USER_KEYS = ("id", "displayName", "userPrincipalName")

# domain.passwordValidityPeriodInDays meaning "passwords never expire": Int32.MaxValue, the value the
# Microsoft 365 admin center writes for "Set passwords to never expire" and Get-MgDomain reads back.
# null is NOT taken as "never": the v1.0 domain resource says an unset value means the 90-day default
# (tenants created since 2021 default to no expiry, but a tenant's age is not a fact we read).
NEVER_EXPIRES = 2147483647

# authenticationMethod subtypes a break-glass account may hold: its password and its FIDO2 keys.
ALLOWED_METHODS = frozenset(
    {"#microsoft.graph.passwordauthenticationmethod", "#microsoft.graph.fido2authenticationmethod"}
)

# Licences that add no mailbox or app surface: Entra ID P1/P2 (skuPartNumber), identity features only.
MINIMAL_SKUS = frozenset({"AAD_PREMIUM", "AAD_PREMIUM_P2"})

# Words that make a name descriptive of a role rather than of a person.
DESCRIPTIVE = frozenset(
    {
        "emergency",
        "access",
        "break",
        "glass",
        "breakglass",
        "admin",
        "administrator",
        "account",
        "backup",
        "recovery",
        "cloud",
        "tenant",
        "global",
        "service",
        "bg",
        "ea",
        "eaa",
        "contingency",
        "fallback",
        "sos",
        "rescue",
        "vault",
        "offline",
        "privileged",
        "root",
        "system",
    }
)


def check_count(facts: Facts, playbook: Playbook) -> Outcome:
    """At least two accounts listed in the playbook and present in the directory."""
    err = unread(facts, *account_fields(facts, playbook, "user"))
    if err:
        return err
    present: list[Any] = []
    absent: list[Any] = []
    for account in playbook.accounts:
        acc = facts.account(account.name)
        (present if acc is not None and acc.user is not None else absent).append(account)
    evidence = [
        {"account": a.name, "objectId": str(a.object_id), "present": a in present} for a in playbook.accounts
    ]
    offenders = [account_label(facts, a.name) for a in absent]
    if len(present) < 2:
        missing = f"; not in the directory: {', '.join(offenders)}" if offenders else ""
        return Outcome.failed(
            f"{len(present)} emergency access account(s) exist; at least 2 are needed{missing}",
            evidence,
            offenders or [f"the playbook lists {len(playbook.accounts)} account(s)"],
            present=len(present),
        )
    if absent:
        return Outcome.failed(
            f"{len(present)} accounts exist but the playbook lists {len(playbook.accounts)}; not in the "
            f"directory: {', '.join(offenders)}",
            evidence,
            offenders,
            present=len(present),
        )
    return Outcome.passed(f"{len(present)} emergency access accounts exist", evidence, present=len(present))


def check_cloud_only(facts: Facts, playbook: Playbook) -> Outcome:
    def judge(_account: Account, acc: AccountFacts) -> tuple[str | None, Obj]:
        user = acc.user or {}
        ev = trim(user, *USER_KEYS, "onPremisesSyncEnabled")
        if "onPremisesSyncEnabled" not in user:
            return "onPremisesSyncEnabled was not read: cannot tell whether it is synchronised", ev
        if user.get("onPremisesSyncEnabled") is True:
            return "synchronised from on-premises (onPremisesSyncEnabled is true)", ev
        return None, ev

    return per_account(facts, playbook, (), judge, "every account is cloud-only", "not cloud-only")


def _initial_domain(facts: Facts) -> Obj | None:
    return next((d for d in facts.domains if d.get("isInitial") is True), None)


def check_initial_domain(facts: Facts, playbook: Playbook) -> Outcome:
    """The UPN's domain must be the tenant's initial domain (domain.isInitial), whatever its suffix.

    Microsoft names it <name>.onmicrosoft.com; sovereign clouds use other suffixes (onmicrosoft.us,
    partner.onmschina.cn), so the domain marked isInitial is the authority, not a suffix match.
    """
    err = unread(facts, "domains")
    if err:
        return err
    initial = _initial_domain(facts)
    if initial is None:
        return Outcome.error("no domain has isInitial true in what Graph returned: cannot judge the UPNs")
    name = str(initial.get("id", "")).lower()
    suffix = (
        "the usual *.onmicrosoft.com"
        if name.endswith(".onmicrosoft.com")
        else f"not *.onmicrosoft.com (a sovereign cloud's suffix, e.g. onmicrosoft.us or "
        f"partner.onmschina.cn): {name}"
    )

    def judge(_account: Account, acc: AccountFacts) -> tuple[str | None, Obj]:
        upn = str((acc.user or {}).get("userPrincipalName") or "")
        domain = upn.rpartition("@")[2].lower()
        ev = {**trim(acc.user, *USER_KEYS), "upnDomain": domain}
        if domain != name:
            return f"UPN {upn} is on {domain or 'no domain'}, not the initial domain {name}", ev
        return None, ev

    out = per_account(
        facts,
        playbook,
        (),
        judge,
        f"every UPN is on the tenant's initial domain {name} ({suffix})",
        "UPN not on the initial domain",
    )
    out.evidence.insert(0, {"initialDomain": trim(initial, "id", "isInitial")})
    out.details["initial_domain"] = name
    return out


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in re.split(r"[^A-Za-z]+", text) if t]


def person_name_problem(display_name: str, upn: str, people: list[str]) -> str | None:
    """Why a name looks personal, or None.

    The heuristic (documented because it can be wrong both ways):
    1. Authorised people: every token of 3 letters or more in an authorised person's name (playbook
       `authorised_people`) is searched among the words of the displayName and of the UPN's local part
       (split on anything not a letter); a local-part word that starts or ends with such a token of 4 or more
       letters also counts ("jsmith", "johnsmith").
    2. "First Last": a displayName of two or three capitalised alphabetic words, or a UPN local part of two or
       three alphabetic words joined by '.', '_' or '-', with none of them a descriptive term (emergency,
       access, break, glass, admin, account, backup, recovery, ...), reads as a person.
    Names with digits or a descriptive term ("Emergency Access 01", "ea01", "bg-admin-2") pass.
    """
    local = upn.partition("@")[0]
    words = set(_tokens(display_name)) | set(_tokens(local))
    for person in people:
        for tok in {t for t in _tokens(person) if len(t) >= 3}:
            if tok in DESCRIPTIVE:
                continue
            if tok in words:
                return f"contains {tok!r}, part of the authorised person's name {person!r}"
            if len(tok) >= 4 and any(w != tok and (w.startswith(tok) or w.endswith(tok)) for w in words):
                return f"contains {tok!r}, part of the authorised person's name {person!r}"
    parts = display_name.split()
    if (
        2 <= len(parts) <= 3
        and all(re.fullmatch(r"[A-Z][a-z'\-]+", p) for p in parts)
        and not {p.lower() for p in parts} & DESCRIPTIVE
    ):
        return (
            f"displayName {display_name!r} looks like a person's 'First Last' name with no descriptive term"
        )
    local_parts = re.split(r"[._\-]", local)
    if (
        2 <= len(local_parts) <= 3
        and all(re.fullmatch(r"[A-Za-z]{2,}", p) for p in local_parts)
        and not {p.lower() for p in local_parts} & DESCRIPTIVE
    ):
        return f"UPN local part {local!r} looks like a person's 'first.last' with no descriptive term"
    return None


def check_descriptive_names(facts: Facts, playbook: Playbook) -> Outcome:
    people = [p for a in playbook.accounts for p in a.authorised_people]

    def judge(_account: Account, acc: AccountFacts) -> tuple[str | None, Obj]:
        user = acc.user or {}
        ev = trim(user, *USER_KEYS)
        return person_name_problem(
            str(user.get("displayName") or ""), str(user.get("userPrincipalName") or ""), people
        ), ev

    return per_account(
        facts, playbook, (), judge, "every account's name is descriptive, not personal", "personal name"
    )


def check_enabled(facts: Facts, playbook: Playbook) -> Outcome:
    def judge(_account: Account, acc: AccountFacts) -> tuple[str | None, Obj]:
        ev = trim(acc.user, *USER_KEYS, "accountEnabled")
        if (acc.user or {}).get("accountEnabled") is not True:
            return f"accountEnabled is {(acc.user or {}).get('accountEnabled')!r}, not true", ev
        return None, ev

    return per_account(facts, playbook, (), judge, "every account is enabled", "not enabled")


def check_no_expiry(facts: Facts, playbook: Playbook) -> Outcome:
    """Expiring = passwordPolicies lacks DisablePasswordExpiration AND the UPN domain's
    passwordValidityPeriodInDays is not 2147483647 (never); an unset validity is the 90-day default."""
    domains = {str(d.get("id", "")).lower(): d for d in facts.domains}

    def judge(_account: Account, acc: AccountFacts) -> tuple[str | None, Obj]:
        user = acc.user or {}
        policies = [p.strip() for p in str(user.get("passwordPolicies") or "").split(",") if p.strip()]
        domain_name = str(user.get("userPrincipalName") or "").rpartition("@")[2].lower()
        domain = domains.get(domain_name)
        ev: Obj = {
            **trim(user, *USER_KEYS, "passwordPolicies"),
            "domain": trim(domain, "id", "passwordValidityPeriodInDays") if domain else domain_name,
        }
        if "DisablePasswordExpiration" in policies:
            return None, ev
        if domain is None:
            return (
                f"passwordPolicies lacks DisablePasswordExpiration and the domain {domain_name} was not "
                "found",
                ev,
            )
        validity = domain.get("passwordValidityPeriodInDays")
        if validity == NEVER_EXPIRES:
            return None, ev
        shown = "unset (the 90-day default)" if validity is None else f"{validity} days"
        return (
            f"password expires: passwordPolicies lacks DisablePasswordExpiration and {domain_name}'s "
            f"passwordValidityPeriodInDays is {shown}, not {NEVER_EXPIRES} (never)",
            ev,
        )

    return per_account(
        facts, playbook, (), judge, "no account has an expiring password", "expiring credential", ("domains",)
    )


def check_methods_only_keys(facts: Facts, playbook: Playbook) -> Outcome:
    def judge(_account: Account, acc: AccountFacts) -> tuple[str | None, Obj]:
        extra = [
            f"{m.get('@odata.type', '?').rsplit('.', 1)[-1]} ({m.get('id')})"
            for m in acc.methods
            if str(m.get("@odata.type", "")).lower() not in ALLOWED_METHODS
        ]
        ev = {
            **trim(acc.user, *USER_KEYS),
            "methods": [{"@odata.type": m.get("@odata.type"), "id": m.get("id")} for m in acc.methods],
        }
        if extra:
            return f"registered methods besides password and FIDO2: {', '.join(extra)}", ev
        return None, ev

    return per_account(
        facts,
        playbook,
        ("methods",),
        judge,
        "no account has a method besides its password and FIDO2 keys",
        "extra authentication methods",
    )


def check_licences(facts: Facts, playbook: Playbook) -> Outcome:
    """Unlicensed, or only Entra ID P1/P2 (identity features, no mailbox or apps). Advisory."""

    def judge(_account: Account, acc: AccountFacts) -> tuple[str | None, Obj]:
        skus = [str(lic.get("skuPartNumber") or lic.get("skuId")) for lic in acc.licenses]
        assigned = (acc.user or {}).get("assignedLicenses") or []
        ev = {**trim(acc.user, *USER_KEYS), "licenses": skus, "assignedLicenses": len(assigned)}
        heavy = [s for s in skus if s not in MINIMAL_SKUS]
        if heavy:
            return f"licensed with {', '.join(heavy)}", ev
        if assigned and not skus:
            return f"{len(assigned)} licence(s) assigned but their details were not listed", ev
        return None, ev

    return per_account(
        facts,
        playbook,
        ("licenses",),
        judge,
        "no account has more than a minimal (Entra ID) licence",
        "licensed",
    )


# user.creationType values of accounts that were not created as members of this tenant (user resource, v1.0:
# Invitation = an invited external (B2B) account, EmailVerified / SelfServiceSignUp = self-service sign-up;
# null = a regular work account). LocalAccount (an Azure AD B2C local account) is this tenant's own.
GUEST_CREATION = frozenset({"invitation", "emailverified", "selfservicesignup"})
GUEST_MARK = "#ext#"  # B2B accounts' UPN: <mail with _ for @>#EXT#@<initial domain>


def guest_signs(user: Obj) -> list[str]:
    """The signs that the user is a guest or external account, each a sentence; [] for a member.

    Any one sign fails (the stricter reading): a B2B member account has userType Member but creationType
    Invitation and an #EXT# UPN; a converted guest may keep the UPN. userType not read is itself a sign:
    whether the account is a member cannot be told.
    """
    signs = []
    user_type = user.get("userType")
    if user_type is None:
        signs.append("userType was not read: cannot tell a member from a guest")
    elif str(user_type).lower() != "member":
        signs.append(f"userType is {user_type}")
    creation = user.get("creationType")
    if creation and str(creation).lower() in GUEST_CREATION:
        signs.append(f"creationType is {creation} (not created as a member of this tenant)")
    upn = str(user.get("userPrincipalName") or "")
    if GUEST_MARK in upn.lower():
        signs.append(f"UPN {upn} carries #EXT# (an external account's UPN)")
    return signs


def check_members_not_guests(facts: Facts, playbook: Playbook) -> Outcome:
    """user.userType, user.creationType and the #EXT# UPN mark (stricter of the three)."""

    def judge(_account: Account, acc: AccountFacts) -> tuple[str | None, Obj]:
        user = acc.user or {}
        ev = trim(user, *USER_KEYS, "userType", "creationType")
        signs = guest_signs(user)
        return ("; ".join(signs) or None), ev

    return per_account(
        facts, playbook, (), judge, "every account is a member of this tenant", "guest or external account"
    )


CHECKS: dict[str, CheckFn] = {
    "BG.ACC.1": check_count,
    "BG.ACC.2": check_cloud_only,
    "BG.ACC.3": check_initial_domain,
    "BG.ACC.4": check_descriptive_names,
    "BG.ACC.5": check_enabled,
    "BG.ACC.6": check_no_expiry,
    "BG.ACC.7": check_methods_only_keys,
    "BG.ACC.8": check_licences,
    "BG.ACC.9": check_members_not_guests,
}
