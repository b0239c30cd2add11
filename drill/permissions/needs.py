"""What a playbook's features need, in the words `drill playbook check` reports contradictions with.

The one place the playbook check learns its requirement table: from the registry, so a feature that starts
needing another permission is checked without touching the check.
"""

from __future__ import annotations

from drill.permissions.api import features_of, for_identity
from drill.permissions.model import Feature, Identity, Kind, Service
from drill.playbook.contradictions import Need, Needs
from drill.playbook.model import Playbook

# Why each feature is on, and the setting that turns it off (None: the drill itself).
_WHY: dict[Feature, Need] = {
    Feature.DRILL: Need("the drill itself"),
    Feature.ADMIN_TASK: Need(
        "the admin task (admin_task.enabled: true, the default)", ("admin_task", "enabled")
    ),
    Feature.REVOKE: Need(
        "session revocation (cleanup.revoke_sessions: true, the default)", ("cleanup", "revoke_sessions")
    ),
    Feature.ANNOUNCE: Need("the announcement mail (announce:)", ("announce",)),
    Feature.FILING: Need("SharePoint filing (evidence.filing)", ("evidence", "filing")),
}


def _why(features: frozenset[Feature]) -> Need:
    for feature in (Feature.DRILL, Feature.ADMIN_TASK, Feature.REVOKE, Feature.ANNOUNCE, Feature.FILING):
        if feature in features:
            return _WHY[feature]
    return Need(", ".join(sorted(features)))


def playbook_needs(pb: Playbook) -> Needs:
    """The drill app's delegated scopes and the observer's mail permissions the drill's features need."""
    on = features_of(pb)
    delegated = {
        g.permission: _why(g.features & on)
        for g in for_identity(Identity.DRILL_APP, on)
        if g.kind is Kind.DELEGATED
    }
    mail = {
        g.permission: _why(g.features & on)
        for g in for_identity(Identity.OBSERVER, on)
        if g.kind is Kind.APPLICATION and any(c.service is Service.MAIL for c in g.calls)
    }
    return Needs(delegated=delegated, observer_mail=mail)
