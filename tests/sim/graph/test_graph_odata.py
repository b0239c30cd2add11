"""The OData query layer alone (pure logic): filter grammar and evaluation, refusals, paging links."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drill.sim.graph.http import GraphError, GraphRequest
from drill.sim.graph.odata import QuerySpec, collection, ops

SPEC = QuerySpec(
    "user", "User",
    filterable={"displayName": ops("eq", "ne", "startswith", "in"), "accountEnabled": ops("eq"),
                "createdDateTime": ops("ge", "lt")},
    orderable=frozenset({"displayName"}), page_size=2,
)  # fmt: skip
ROWS = [
    {
        "id": "1",
        "displayName": "Ann O'Neil",
        "accountEnabled": True,
        "createdDateTime": "2026-01-01T00:00:00Z",
    },
    {"id": "2", "displayName": "Bob", "accountEnabled": False, "createdDateTime": "2026-02-01T00:00:00Z"},
    {"id": "3", "displayName": "Bea", "accountEnabled": True, "createdDateTime": "2026-03-01T00:00:00Z"},
]


def _req(query: dict[str, str]) -> GraphRequest:
    state: Any = SimpleNamespace(base_url="https://sim.test")
    return GraphRequest(state=state, method="GET", path="/users", query=query, headers={})


def _ids(query: dict[str, str]) -> list[str]:
    body = collection(_req({**query, "$top": "10", "$select": "id"}), SPEC, ROWS, "users")
    return [r["id"] for r in body["value"]]


@pytest.mark.parametrize(
    ("flt", "ids"),
    [
        ("displayName eq 'ann o''neil'", ["1"]),
        ("startswith(displayName,'b') and accountEnabled eq true", ["3"]),
        ("accountEnabled eq false or displayName eq 'Bea'", ["2", "3"]),
        ("not (accountEnabled eq true)", ["2"]),
        ("displayName in ('Bob','Bea')", ["2", "3"]),
        ("createdDateTime ge 2026-02-01T00:00:00Z and createdDateTime lt 2026-03-01T00:00:00Z", ["2"]),
        ("displayName eq 'x' or displayName eq 'Bob' and accountEnabled eq true", []),  # and binds tighter
    ],
)
def test_filter(flt: str, ids: list[str]) -> None:
    assert _ids({"$filter": flt}) == ids


@pytest.mark.parametrize(
    "flt",
    [
        "displayName gt 'a'",
        "id eq '1'",
        "displayName eq",
        "(displayName eq 'a'",
        "displayName eq 'a' xor true",
    ],
)
def test_filter_refusals(flt: str) -> None:
    with pytest.raises(GraphError) as err:
        _ids({"$filter": flt})
    assert err.value.status == 400


def test_paging_link_keeps_the_query() -> None:
    everyone = "accountEnabled eq true or accountEnabled eq false"
    body = collection(_req({"$filter": everyone, "$orderby": "displayName"}), SPEC, ROWS, "users")
    assert [r["displayName"] for r in body["value"]] == ["Ann O'Neil", "Bea"]
    link = body["@odata.nextLink"]
    assert link.startswith("https://sim.test/v1.0/users?")
    from urllib.parse import parse_qsl, urlsplit

    query = dict(parse_qsl(urlsplit(link).query))
    second = collection(_req(query), SPEC, ROWS, "users")
    assert [r["displayName"] for r in second["value"]] == ["Bob"]
    assert "@odata.nextLink" not in second


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_string_literals_round_trip(value: str) -> None:
    """Any string, quoted the OData way, matches itself and nothing else."""
    rows = [{"id": "a", "displayName": value}, {"id": "b", "displayName": value + "x"}]
    quoted = value.replace("'", "''")
    body = collection(_req({"$filter": f"displayName eq '{quoted}'", "$select": "id"}), SPEC, rows, "users")
    assert [r["id"] for r in body["value"]] == ["a"]
