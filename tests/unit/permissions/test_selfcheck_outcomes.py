"""The self-check's outcomes beside present and missing: a throttled read proves nothing about a grant, and an
optional grant's absence is a finding, never a blocker (fail closed stays: a refusal is still missing)."""

from __future__ import annotations

import pytest

from drill.permissions import REGISTRY
from drill.permissions.reads import Probe
from drill.permissions.selfcheck import SelfCheck, Verdict

REQUIRED = next(g for g in REGISTRY if not g.optional)
OPTIONAL = next(g for g in REGISTRY if g.optional)


@pytest.mark.parametrize(("status", "transient"), [(429, True), (500, True), (503, True), (403, False),
                                                   (401, False), (404, False), (None, False)])  # fmt: skip
def test_only_throttling_and_server_errors_are_transient(status: int | None, transient: bool) -> None:
    assert Probe(False, status, "x").transient is transient


def test_a_refused_required_grant_blocks_and_is_one_line() -> None:
    check = SelfCheck([Verdict(REQUIRED, False, "refused: HTTP 403", "the line")])
    assert not check.ok
    assert check.lines == ["the line"]
    assert check.evidence()["missing"] == {REQUIRED.id: "refused: HTTP 403"}


def test_an_unverified_grant_blocks_nothing_and_is_recorded_as_unverified() -> None:
    check = SelfCheck([Verdict(REQUIRED, False, "not checked: HTTP 429", unverified=True)])
    assert check.ok
    assert check.lines == []
    assert check.evidence()["unverified"] == {REQUIRED.id: "not checked: HTTP 429"}
    assert check.evidence()["missing"] == {}


def test_a_missing_optional_grant_is_a_finding_not_a_blocker() -> None:
    check = SelfCheck([Verdict(OPTIONAL, False, "refused: HTTP 403", "the fix")])
    assert check.ok
    assert [v.line for v in check.findings] == ["the fix"]
    assert check.evidence()["missing_optional"] == {OPTIONAL.id: "refused: HTTP 403"}


def test_the_only_optional_grant_is_the_one_the_drill_proves_another_way() -> None:
    """Entra's diagnostic settings (issue 25 case 4): the drill's own rows are the proof without them."""
    assert [g.id for g in REGISTRY if g.optional] == ["observer-reader"]
