"""PATCH /groups/{id}: 204, one "Update group" audit entry shaped like Entra's, AuditLogs rows after the
ingestion delay, and the restricted-AU and restore refusals."""

from __future__ import annotations

import json
from typing import Any

from graph_support import ALICE, EA01, bearer

from drill.sim.faults import apply_fault
from drill.sim.loganalytics.workspace import run_query
from drill.sim.server import SimServer

GROUP = "6d7e8f90-1a2b-4c3d-8e4f-5a6b7c8d9e01"  # the drill's canary group (outside the restricted AU)
WRITE = "User.Read Group.ReadWrite.All"


def test_update_group_is_audited_and_exported(sim: SimServer, delegated: Any, api: Any) -> None:
    state = sim.state
    old = state.tenant.group(GROUP)["description"]
    resp = api.patch(
        f"/groups/{GROUP}", json={"description": "marked"}, headers=bearer(delegated(scopes=WRITE))
    )
    assert resp.status_code == 204, resp.text
    assert resp.content == b""
    assert state.tenant.group(GROUP)["description"] == "marked"
    [event] = [e for e in state.audits if e.operation_name == "Update group"]
    assert (event.category, event.logged_by_service) == ("GroupManagement", "Core Directory")
    assert event.initiated_by["user"]["id"] == EA01
    [target] = event.target_resources
    assert (target["id"], target["type"]) == (GROUP, "Group")
    desc = next(p for p in target["modifiedProperties"] if p["displayName"] == "Description")
    assert json.loads(desc["oldValue"]) == [old]
    assert json.loads(desc["newValue"]) == ["marked"]
    included = next(
        p for p in target["modifiedProperties"] if p["displayName"] == "Included Updated Properties"
    )
    assert json.loads(included["newValue"]) == "Description"
    kql = (
        "AuditLogs | where OperationName == 'Update group' "
        "| where tostring(InitiatedBy.user.id) == '"
        + EA01
        + "' | project Id, LoggedByService, TargetResources"
    )
    assert run_query(state, kql)[1] == []  # not queryable before the ingestion delay
    state.clock.advance(30)
    _cols, rows, _cut = run_query(state, kql)
    assert len(rows) == 1
    assert rows[0][1] == "Core Directory"
    # Nothing changed: no second audit entry.
    api.patch(f"/groups/{GROUP}", json={"description": "marked"}, headers=bearer(delegated(scopes=WRITE)))
    assert len([e for e in state.audits if e.operation_name == "Update group"]) == 1


def test_update_group_refusals(sim: SimServer, delegated: Any, api: Any) -> None:
    no_scope = api.patch(f"/groups/{GROUP}", json={"description": "x"}, headers=bearer(delegated()))
    assert no_scope.status_code == 403
    not_admin = api.patch(
        f"/groups/{GROUP}", json={"description": "x"}, headers=bearer(delegated(ALICE, scopes=WRITE))
    )
    assert not_admin.status_code == 403
    other = api.patch(f"/groups/{GROUP}", json={"mailNickname": "x"}, headers=bearer(delegated(scopes=WRITE)))
    assert other.status_code == 400  # never silently ignored
    apply_fault(sim.state, "admin-write-restricted-au")
    refused = api.patch(
        f"/groups/{GROUP}", json={"description": "x"}, headers=bearer(delegated(scopes=WRITE))
    )
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "Authorization_RequestDenied"
    assert "restricted management administrative unit" in error["message"]
    assert not [e for e in sim.state.audits if e.operation_name == "Update group"]


def test_restore_refused_once(sim: SimServer, delegated: Any, api: Any) -> None:
    apply_fault(sim.state, "admin-restore-refused")
    h = bearer(delegated(scopes=WRITE))
    assert api.patch(f"/groups/{GROUP}", json={"description": "a"}, headers=h).status_code == 204
    assert api.patch(f"/groups/{GROUP}", json={"description": "b"}, headers=h).status_code == 403
    assert api.patch(f"/groups/{GROUP}", json={"description": "b"}, headers=h).status_code == 204


def test_auditlogs_not_exported(sim: SimServer, delegated: Any, api: Any) -> None:
    apply_fault(sim.state, "diag-no-auditlogs")
    api.patch(f"/groups/{GROUP}", json={"description": "z"}, headers=bearer(delegated(scopes=WRITE)))
    assert [e for e in sim.state.audits if e.operation_name == "Update group"]  # audited in Entra
    sim.state.clock.advance(300)
    assert run_query(sim.state, "AuditLogs | where OperationName == 'Update group'")[1] == []
