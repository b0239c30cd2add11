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

INTERSTITIALS = {
    "proof_up": "'More information required' (proof-up): the account is asked to register methods",
    "approve_signin": "an approve-sign-in (push) prompt: the key alone does not satisfy the policy",
    "enter_code": "an enter-code (OTP) prompt: the key alone does not satisfy the policy",
    "account_picker": "an account picker: a cached session was offered instead of a fresh sign-in",
    "consent": "an app consent prompt: the drill app lacks admin consent",
}


@dataclass(frozen=True)
class UiProfile:
    version: str = PROFILE_VERSION
    selectors: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SELECTORS))

    def __getitem__(self, name: str) -> str:
        return self.selectors[name]

    def with_overrides(self, overrides: Mapping[str, str]) -> UiProfile:
        unknown = sorted(set(overrides) - set(DEFAULT_SELECTORS))
        if unknown:
            raise DrillUserError(
                f"browser.ui_profile: unknown selector name(s) {unknown}; "
                f"known: {', '.join(sorted(DEFAULT_SELECTORS))}"
            )
        if not overrides:
            return self
        merged = {**self.selectors, **overrides}
        return UiProfile(version=f"{self.version}+overrides({','.join(sorted(overrides))})", selectors=merged)


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
