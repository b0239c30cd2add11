"""Questions the product asks of the registry: what does this playbook need, who needs it, who made a call."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from drill.permissions.model import Call, Feature, Grant, Identity, Kind, Service
from drill.permissions.registry import REGISTRY

if TYPE_CHECKING:
    from drill.playbook.model import Playbook

DRILL_FEATURES = frozenset(
    {Feature.DRILL, Feature.ADMIN_TASK, Feature.REVOKE, Feature.ANNOUNCE, Feature.FILING, Feature.MAIL_WATCH,
     Feature.SENTINEL, Feature.DEFENDER}
)  # fmt: skip
SCHEDULER_FEATURES = frozenset({Feature.AUDIT, Feature.WATCH, Feature.KEYLESS, Feature.SCHEDULER_MAIL})


def required(features: Iterable[Feature]) -> list[Grant]:
    """The grants whose calls the given features make, in registry order."""
    wanted = set(features)
    return [g for g in REGISTRY if g.features & wanted]


def for_identity(identity: Identity, features: Iterable[Feature] | None = None) -> list[Grant]:
    grants = REGISTRY if features is None else required(features)
    return [g for g in grants if g.identity is identity]


def grant(grant_id: str) -> Grant:
    for g in REGISTRY:
        if g.id == grant_id:
            return g
    raise KeyError(grant_id)


def delegated_scopes(features: Iterable[Feature]) -> list[str]:
    """The drill app's delegated Graph scopes the features need (what the sign-in must ask for)."""
    return [g.permission for g in for_identity(Identity.DRILL_APP, features) if g.kind is Kind.DELEGATED]


def features_of(
    playbook: Playbook, *, drill: bool = True, scheduler: bool = False, windows_key: bool = False
) -> frozenset[Feature]:
    """What a playbook turns on. `drill` counts the drill's features; `scheduler` the scheduler's;
    `windows_key` that this workstation reaches the key through the Windows WebAuthn API."""
    out: set[Feature] = set()
    if drill:
        out.add(Feature.DRILL)
        if windows_key:
            out.add(Feature.WINDOWS_KEY)
        if playbook.admin_task.enabled:
            out.add(Feature.ADMIN_TASK)
        if playbook.cleanup.revoke_sessions:
            out.add(Feature.REVOKE)
        if playbook.announce is not None:
            out.add(Feature.ANNOUNCE)
        if any(f.kind == "sharepoint" for f in playbook.evidence.filing):
            out.add(Feature.FILING)
        if playbook.alert is not None:
            out.add(Feature.MAIL_WATCH)
        if playbook.sentinel is not None:
            out.add(Feature.SENTINEL)
            if playbook.sentinel.defender_onboarded:
                out.add(Feature.DEFENDER)
    if scheduler:
        out |= {Feature.AUDIT, Feature.WATCH, Feature.SCHEDULER_MAIL}
        if playbook.schedule.daily_keyless_check:
            out.add(Feature.KEYLESS)
    return frozenset(out)


def calls_matching(service: Service, method: str, path: str, identity: Identity) -> list[tuple[Grant, Call]]:
    """The registry's declarations of one request (empty: the product made an undeclared call)."""
    return [
        (g, c)
        for g in REGISTRY
        if g.identity is identity
        for c in g.calls
        if c.service is service and c.matches(method, path)
    ]
