"""The page sequence each sign-in variant of the simulated tenant leads a drill through.

Every drill records the pages it met (`page_sequence` in the sign-in step's evidence). The first live
drill's sequence, compared with the simulator's for the same variant (tests/live), shows exactly where
the simulator's pages differ from Entra's; tests/e2e proves the simulator still produces these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# variant name -> the tenant fixture's `signInExperience` that selects it (see PAGES.md for the facts).
VARIANTS: dict[str, dict[str, Any]] = {
    "fido-direct-kmsi": {},  # the demo tenant: PrefCredential 7 opens the FIDO view, "Stay signed in?" shown
    "fido-direct": {"showKmsi": False},  # KMSI hidden (e.g. a persistent-browser session control)
    "picker-kmsi": {"preferredCredential": 1000},  # the credential picker, then the security key tile
    "picker": {"preferredCredential": 1000, "showKmsi": False},
}

Step = tuple[str | None, str | None]  # (pgid, view); view None where the page is only being waited on
SEQUENCES: dict[str, list[Step]] = {
    "fido-direct-kmsi": [("ConvergedSignIn", None), (None, "fido_ceremony"), ("KmsiInterrupt", "kmsi")],
    "fido-direct": [("ConvergedSignIn", None), (None, "fido_ceremony")],
    "picker-kmsi": [("ConvergedSignIn", "picker"), (None, "fido_ceremony"), ("KmsiInterrupt", "kmsi")],
    "picker": [("ConvergedSignIn", "picker"), (None, "fido_ceremony")],
}


def normalise(pages: Iterable[Mapping[str, Any]]) -> list[Step]:
    """The comparable form of a recorded `page_sequence`.

    How often the driver polled a page before its script switched views depends on timing, not on the
    page: "signin_waiting" entries carry no view, and an entry is dropped when the next one is the same
    page (same pgid) or repeats it.
    """
    steps: list[Step] = [
        (p.get("pgid"), None if p.get("view") == "signin_waiting" else p.get("view")) for p in pages
    ]
    out: list[Step] = []
    for i, step in enumerate(steps):
        following = steps[i + 1] if i + 1 < len(steps) else None
        if step[1] is None and following is not None and following[0] == step[0]:
            continue
        if out and out[-1] == step:
            continue
        out.append(step)
    return out


def differences(variant: str, pages: Iterable[Mapping[str, Any]]) -> list[str]:
    """Where a recorded sequence departs from the simulator's for `variant`; empty when they agree."""
    expected, seen = SEQUENCES[variant], normalise(pages)
    if seen == expected:
        return []
    lines = [f"variant {variant}: simulator {expected}", f"variant {variant}: recorded  {seen}"]
    for i, (want, got) in enumerate(zip(expected, seen, strict=False)):
        if want != got:
            lines.append(f"first difference at page {i + 1}: simulator {want}, recorded {got}")
            break
    else:
        lines.append(f"lengths differ: simulator {len(expected)} pages, recorded {len(seen)}")
    return lines
