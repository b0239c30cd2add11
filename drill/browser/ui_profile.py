"""The UI profile: how we recognise and drive Entra's sign-in pages, versioned and overridable.

Entra's element ids have been stable for years while texts and interstitials change about yearly
(FIDELITY.md, "Sign-in pages"), so pages are recognised by ids first. A playbook may override any selector
(`browser.ui_profile`) when Microsoft changes a page before we ship a new profile; an unknown name is an
error, not a silent no-op.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from drill.errors import DrillUserError

PROFILE_VERSION = "entra-2026.11"

DEFAULT_SELECTORS: dict[str, str] = {
    # username page
    "username_input": "input[name=loginfmt]",
    "next_button": "#idSIButton9",
    "username_error": "#usernameError",
    # ways to reach the security key
    "use_security_key": "#idA_PWD_SwitchToFido",
    "signin_options": "div[data-test-id='signinOptions'], #idA_PWD_SwitchToCredPicker",
    "fido_tile": "[role=button][data-test-cred-id='7'], div[data-value='FidoKey']",
    "fido_in_progress": "#fidoTitle, #fidoStatus",
    # "Stay signed in?"
    "kmsi_title": "#kmsiTitle, #KmsiDescription",
    "kmsi_no": "#idBtn_Back",
    # errors
    "error_message": "#service_exception_message",
    "auth_strength": "#authStrengthTitle",
    # interstitials a break-glass account should never meet
    "proof_up": "#ProofUpDescription, #idSubmit_ProofUp_Redirect",
    "approve_signin": "#idDiv_SAOTCAS_Title",
    "enter_code": "#idDiv_SAOTCC_Title",
    "account_picker": "#tilesHolder, #otherTile",
    "consent": "#consentHeader, [data-testid='consentPage']",
}

# Fallbacks by visible wording (headings and title, case-insensitive substring), used only when no id of
# the same kind is present: the wording is English and changes more often than the ids (FIDELITY.md).
DEFAULT_TEXTS: dict[str, str] = {
    "kmsi_title": "Stay signed in?",
    "proof_up": "More information required",
    "approve_signin": "Approve sign in request",
    "enter_code": "Enter code",
    "account_picker": "Pick an account",
    "consent": "Permissions requested",
    "are_you_trying": "Are you trying to sign in to",
    "auth_strength": "another sign-in method is required",
}
TEXT_PREFIX = "text."

INTERSTITIALS = {
    "proof_up": "'More information required' (proof-up): the account is asked to register methods",
    "approve_signin": "an approve-sign-in (push) prompt: the key alone does not satisfy the policy",
    "enter_code": "an enter-code (OTP) prompt: the key alone does not satisfy the policy",
    "account_picker": "an account picker: a cached session was offered instead of a fresh sign-in",
    "consent": "an app consent prompt: the drill app lacks admin consent",
    "are_you_trying": "an 'Are you trying to sign in to ...?' prompt: Entra doubts the request's origin "
    "(device-code style phishing protection)",
}


@dataclass(frozen=True)
class UiProfile:
    """Selectors by page-element name, plus wording fallbacks by page kind; override keys are a selector
    name (`kmsi_no: "#idBtn_Back"`) or `text.<kind>` (`text.kmsi_title: "Angemeldet bleiben?"`)."""

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
