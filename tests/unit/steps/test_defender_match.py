"""The Defender read ties a Graph alert to this sign-in only by a link that names it
(drill/steps/defender_match.py): each plausible link is accepted, the strongest wins, and an alert of
another account, an older alert of the rule, or an alert of another rule ties nothing (fail closed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drill.steps.defender_match import Wanted, find, link_of, names_account

SIGNED_IN = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
WANT = Wanted("sys-1", "rule-guid", "Break-glass account activity", "ea01@contoso.test", "oid-1", SIGNED_IN)


def _alert(**over: Any) -> dict[str, Any]:
    base = {
        "id": "a1",
        "providerAlertId": "other",
        "detectorId": "other",
        "title": "other",
        "createdDateTime": "2026-12-06T12:05:00Z",
        "evidence": [
            {
                "@odata.type": "#microsoft.graph.security.userEvidence",
                "userAccount": {"azureAdUserId": "oid-1"},
            }
        ],
    }
    return {**base, **over}


def test_each_link_is_accepted_and_named() -> None:
    assert link_of(_alert(providerAlertId="SYS-1"), WANT) == ("providerAlertId", "azureAdUserId")
    assert link_of(_alert(detectorId="rule-guid"), WANT) == ("detectorId", "azureAdUserId")
    assert link_of(_alert(title="Break-glass account activity"), WANT) == ("title", "azureAdUserId")


def test_the_strongest_link_wins_across_incidents() -> None:
    weak = {"id": "1", "alerts": [_alert(title="Break-glass account activity")]}
    strong = {"id": "2", "alerts": [_alert(id="a2", providerAlertId="sys-1")]}
    found = find([weak, strong], WANT)
    assert found is not None
    assert found.incident["id"] == "2"
    assert found.link == "providerAlertId"


def test_weak_links_need_this_account_and_an_alert_after_the_sign_in() -> None:
    bob = {"userPrincipalName": "bob@contoso.test"}
    other = _alert(
        detectorId="rule-guid",
        evidence=[{"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": bob}],
    )
    older = _alert(detectorId="rule-guid", createdDateTime="2026-12-06T11:00:00Z")
    no_rule = _alert()
    assert find([{"id": "1", "alerts": [other, older, no_rule]}], WANT) is None


def test_the_account_shows_by_upn_object_id_or_name_and_domain() -> None:
    def ev(account: dict[str, str]) -> dict[str, Any]:
        return {
            "evidence": [{"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": account}]
        }

    assert names_account(ev({"userPrincipalName": "EA01@contoso.test"}), "ea01@contoso.test", "x") == (
        "userPrincipalName"
    )
    assert names_account(
        ev({"accountName": "ea01", "domainName": "contoso.test"}), "ea01@contoso.test", "x"
    ) == ("accountName+domainName")
    assert names_account(ev({"userPrincipalName": "bob@contoso.test"}), "ea01@contoso.test", "x") is None


def test_an_incident_resolved_in_the_portal_fails_with_the_fix_and_an_open_one_passes() -> None:
    from drill.evidence.model import Status
    from drill.steps.base import StepBuilder
    from drill.steps.defender_match import DefenderMatch
    from drill.steps.defender_read import _judge

    url = "https://security.microsoft.com/incidents/7001?tid=t"
    for status, ok in (("active", True), ("inProgress", True), ("resolved", False), ("redirected", False)):
        incident = {"id": "7001", "incidentWebUrl": url, "status": status, "assignedTo": None}
        sb = StepBuilder("incident", "t")
        _judge(sb, DefenderMatch(incident, _alert(), "title", "azureAdUserId"))
        (check,) = sb.checks
        assert (check.status is Status.PASS) is ok, (status, check.reason)
        assert url in check.reason
        assert check.evidence["graphIncidentId"] == "7001"
        assert check.evidence["link"] == "title"
        if status == "resolved":
            assert "exclude the break-glass rule" in check.reason
