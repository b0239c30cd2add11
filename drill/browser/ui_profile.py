"""The UI profile: how we recognise and drive Entra's sign-in pages, versioned and overridable.

All of Entra's pages share one title, so a page is recognised by its `$Config.pgid` (= the PageID meta) and
`$Config` keys; element ids only drive a view, and wording only where no id is known (the credential
picker's tiles) (shared/reference/entra-signin-pages.md; docs/SIGNIN_PAGES.md lists every page). A
playbook may override any selector or wording (`browser.ui_profile`) when Microsoft changes a page before
we ship a new profile; an unknown name is an error, not a silent no-op.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from drill.errors import DrillUserError

PROFILE_VERSION = "entra-2026.12"

# Element ids Entra's pages carry (shared/reference/entra-signin-pages.md, section 2). Pages themselves are
# recognised by `$Config.pgid` / <meta name="PageID"> (PAGES below), never by these ids or the title.
DEFAULT_SELECTORS: dict[str, str] = {
    "username_input": "#i0116",  # name loginfmt; username view of ConvergedSignIn
    "next_button": "#idSIButton9",
    "password_input": "#i0118",  # name passwd; password view: we never type into it
    "other_ways": "#idA_PWD_SwitchToCredPicker",  # "Other ways to sign in" / "Sign in another way"
    "kmsi_no": "#idBtn_Back",  # KMSI "No": never "the submit button", which is Yes
    "inline_error": "[role=alert]",  # inline error text (no id is known for it)
}

# Wording, used where the reference says no id is known (picker tiles) or as a fallback for a page whose
# pgid is missing. Case-insensitive substrings of visible text; English, so overridable per locale.
DEFAULT_TEXTS: dict[str, str] = {
    "fido_tile": "Face, fingerprint, PIN, or security key",
    "fido_failed": "We couldn't sign you in",
    "kmsi": "Stay signed in?",
    "proof_up": "More information required",
    "cmsi": "Are you trying to sign in to",
    "account_picker": "Pick an account",
    "consent": "Permissions requested",  # the consent prompt's title (Microsoft's consent-experience page)
    "admin_approval": "Need admin approval",  # shown instead when the user may not consent (AADSTS90094)
}
TEXT_PREFIX = "text."

# pgid -> (page name used in reasons, the AADSTS code the page stands for when it carries none itself).
PAGES: dict[str, tuple[str, int | None]] = {
    "ConvergedSignIn": ("the sign-in page (ConvergedSignIn)", None),
    "KmsiInterrupt": ("'Stay signed in?' (KmsiInterrupt)", 50140),
    "CmsiInterrupt": ("'Are you trying to sign in to ...?' (CmsiInterrupt)", 50199),
    "ConvergedProofUpRedirect": ("'More information required' (ConvergedProofUpRedirect)", 50079),
    "ConvergedTFA": ("a second-factor (MFA) prompt (ConvergedTFA)", 50074),
    "ConvergedError": ("an Entra error page (ConvergedError)", None),
}

# Pages a break-glass sign-in with a key must never meet: the drill fails on them, naming why.
INTERSTITIALS = {
    "CmsiInterrupt": "Entra asks the operator to confirm the app (CMSI, AADSTS50199): it doubts the "
    "request's origin; a drill app with an http(s) redirect URI should not see it",
    "ConvergedProofUpRedirect": "Entra asks the account to register more methods (proof-up, "
    "AADSTS50072/50079): the key alone no longer satisfies the tenant's registration policy",
    "ConvergedTFA": "Entra asks for a second factor after the key (AADSTS50074/50076): the key no longer "
    "satisfies MFA for this account",
    "mfaRegistrationNag": "Entra nags to register Microsoft Authenticator (AADSTS50203): a registration "
    "campaign includes the break-glass account; exclude it",
    "account_picker": "an account picker: a cached session was offered instead of a fresh sign-in",
}


@dataclass(frozen=True)
class UiProfile:
    """Selectors by page-element name, plus wording by name; override keys are a selector name
    (`kmsi_no: "#idBtn_Back"`) or `text.<name>` (`text.fido_tile: "Gesicht, Fingerabdruck, PIN ..."`)."""

    version: str = PROFILE_VERSION
    selectors: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SELECTORS))
    texts: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEXTS))

    def __getitem__(self, name: str) -> str:
        return self.selectors[name]

    def with_overrides(self, overrides: Mapping[str, str]) -> UiProfile:
        known = set(DEFAULT_SELECTORS) | {TEXT_PREFIX + kind for kind in DEFAULT_TEXTS}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise DrillUserError(
                f"browser.ui_profile: unknown name(s) {unknown}; known: {', '.join(sorted(known))}; "
                "fix the name or remove it"
            )
        empty = sorted(name for name, value in overrides.items() if not str(value).strip())
        if empty:
            raise DrillUserError(f"browser.ui_profile: empty value for {empty}; give a selector or remove it")
        if not overrides:
            return self
        selectors = {**self.selectors, **{k: v for k, v in overrides.items() if k in DEFAULT_SELECTORS}}
        texts = {
            **self.texts,
            **{k[len(TEXT_PREFIX) :]: v for k, v in overrides.items() if k.startswith(TEXT_PREFIX)},
        }
        return UiProfile(
            version=f"{self.version}+overrides({','.join(sorted(overrides))})",
            selectors=selectors,
            texts=texts,
        )


@cache
def _aadsts() -> dict[int, tuple[str, str]]:
    path = Path(__file__).with_name("aadsts.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        return {int(row["code"]): (row["name"], row["message"]) for row in csv.DictReader(fh)}


def aadsts_meaning(code: int) -> str:
    """Entra's documented meaning of an AADSTS code (reference-error-codes.md), or a pointer to look it up."""
    hit = _aadsts().get(code)
    if hit is None:
        return f"AADSTS{code}: not in our table; see Microsoft's error code reference"
    name, message = hit
    return f"{name}: {message}" if name else message
