"""The registry's own consistency: stable ids, sources, features, and what a playbook's features need."""

from __future__ import annotations

from drill.permissions import (
    REGISTRY,
    Feature,
    Identity,
    Kind,
    Service,
    calls_matching,
    delegated_scopes,
    for_identity,
    grant,
    required,
)


def test_ids_are_unique_and_name_their_fault() -> None:
    ids = [g.id for g in REGISTRY]
    assert len(ids) == len(set(ids))
    assert all(g.fault == f"grant-missing-{g.id}" for g in REGISTRY)
    assert grant("observer-mail-read").permission == "Mail.Read"


def test_every_grant_and_call_cites_microsoft() -> None:
    for g in REGISTRY:
        assert g.source.startswith("https://learn.microsoft.com/"), g.id
        assert g.calls, g.id
        for c in g.calls:
            assert c.source.startswith("https://learn.microsoft.com/"), (g.id, c.template)
            assert c.features, (g.id, c.template)


def test_identities_hold_only_their_kinds() -> None:
    assert {g.kind for g in for_identity(Identity.DRILL_APP)} == {Kind.DELEGATED}
    assert {g.kind for g in for_identity(Identity.OBSERVER)} == {Kind.APPLICATION, Kind.AZURE_ROLE}


def test_required_follows_the_features() -> None:
    drill_only = {g.id for g in required([Feature.DRILL])}
    assert "drill-app-group-readwrite-all" not in drill_only
    assert "observer-mail-send" not in drill_only
    assert "observer-mail-read" not in drill_only  # the alert mail watch is its own feature (issue 24)
    assert "observer-mail-read" in {g.id for g in required([Feature.DRILL, Feature.MAIL_WATCH])}
    sentinel = {g.id for g in required([Feature.SENTINEL])}
    assert "observer-mail-read" not in sentinel
    assert "drill-app-group-readwrite-all" in {g.id for g in required([Feature.ADMIN_TASK])}
    assert {g.id for g in required([Feature.FILING])} == {
        "observer-sites-selected",
        "observer-directory-read-all",
    }
    assert delegated_scopes([Feature.DRILL, Feature.REVOKE]) == [
        "User.Read",
        "RoleManagement.Read.Directory",
        "User.RevokeSessions.All",
    ]


def test_a_request_maps_to_its_declaration() -> None:
    hits = calls_matching(Service.MAIL, "GET", "/users/soc@contoso.test/messages", Identity.OBSERVER)
    assert [g.id for g, _ in hits] == ["observer-mail-read"]
    assert calls_matching(Service.GRAPH, "DELETE", "/users/x", Identity.OBSERVER) == []
    put = "/drives/b!x/items/root:/Break-glass drills/d1/manifest.json:/content"
    assert [g.id for g, _ in calls_matching(Service.SHAREPOINT, "PUT", put, Identity.OBSERVER)] == [
        "observer-sites-selected"
    ]


def test_ids_follow_the_simulators_fault_names() -> None:
    """`grant-missing-<identity>-<permission>`: the simulator names its faults from its fixture alike."""
    import re

    for g in REGISTRY:
        assert g.id == f"{g.identity.value}-" + re.sub(r"[^a-z0-9]+", "-", g.permission.lower()).strip("-")
