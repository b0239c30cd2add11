"""The Log Analytics beliefs' forms, as rows: where the 50140 row stands, what UserPrincipalName carries."""

from __future__ import annotations

import pytest
from loganalytics_support import EA01, signin

from drill.sim.beliefs import apply_variant
from drill.sim.loganalytics.workspace import run_query


def _rows(sim) -> list[dict]:
    cols, rows, _ = run_query(
        sim.state,
        f"SigninLogs | where UserId == '{EA01}' "
        "| project Id, CorrelationId, ResultType, CreatedDateTime, UserPrincipalName "
        "| sort by CreatedDateTime asc",
    )
    names = [c["name"] for c in cols]
    return [dict(zip(names, r, strict=True)) for r in rows]


@pytest.mark.parametrize(
    ("chosen", "order"),
    [("before", ["50140", "0"]), ("same-instant", None), ("after", ["0", "50140"])],
)
def test_the_kmsi_row_stands_where_the_form_says(sim, chosen: str, order: list[str] | None) -> None:
    """The identity pages emit the 50140 event at the prompt and the success once it is answered."""
    apply_variant(sim.state, "kmsi-row-offset", chosen)
    interrupt = signin(sim.state, result="50140")
    sim.state.clock.advance(3)  # the operator answers "Stay signed in?"
    success = signin(sim.state, correlation_id=interrupt.correlation_id)
    sim.state.clock.advance(30)
    rows = {r["ResultType"]: r["CreatedDateTime"] for r in _rows(sim)}
    assert set(rows) == {"0", "50140"}
    if order is None:
        assert rows["0"] == rows["50140"]
    else:
        assert sorted(rows, key=rows.__getitem__) == order
    assert success.correlation_id == interrupt.correlation_id


def test_an_interrupt_held_for_its_success_is_not_lost_among_other_sign_ins(sim) -> None:
    apply_variant(sim.state, "kmsi-row-offset", "after")
    interrupt = signin(sim.state, result="50140")
    signin(sim.state)  # another sign-in's success (its own CorrelationId) does not release it
    sim.state.clock.advance(30)
    assert [r["ResultType"] for r in _rows(sim)] == ["0"]
    signin(sim.state, correlation_id=interrupt.correlation_id)
    sim.state.clock.advance(30)
    assert sorted(r["ResultType"] for r in _rows(sim)) == ["0", "0", "50140"]


@pytest.mark.parametrize(("chosen", "want_upn"), [("object-id", False), ("upn", True)])
def test_user_principal_name_carries_the_form(sim, chosen: str, want_upn: bool) -> None:
    apply_variant(sim.state, "signin-row-upn", chosen)
    event = signin(sim.state)
    sim.state.clock.advance(30)
    (row,) = [r for r in _rows(sim) if r["Id"] == event.id]
    assert row["UserPrincipalName"] == (event.user_principal_name if want_upn else EA01)
