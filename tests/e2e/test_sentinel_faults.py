"""Each Sentinel fault FAILs the drill at the right step, with a reason that says what to fix (issue 24).

No browser: each fault gets the demo world watched by Sentinel alone (the simulator over TLS, the observer
signing in through msal), the real preflight step reads the analytics and automation rules through ARM,
and for the faults only a drill can see, the real incident step reads SecurityAlert and SecurityIncident
through azure-monitor-query over HTTPS. The sign-in a browser drill would make is emitted through the
simulator's own sign-in pipeline (the row SigninLogs receives is the one a browser sign-in produces), and
the simulator clock is moved past the rule's run instead of waiting for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drill.evidence.model import Status
from drill.run.demo import build_context, demo_world
from drill.sim.state import SignInEvent
from drill.steps import incident, preflight

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def sentinel_world(tmp_path: Path) -> Iterator[Any]:
    """A factory: the Sentinel-only demo world with one fault applied (None: healthy)."""
    stack: list[Any] = []

    def make(fault: str | None, variants: tuple[str, ...] = (), watch: str = "sentinel") -> Any:
        folder = tmp_path / (fault or "healthy-" + "-".join(v.replace("=", "_") for v in variants))
        cm = demo_world(folder, fault=fault, variants=variants, watch=watch)
        stack.append(cm)
        return cm.__enter__()

    yield make
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def _checks(result: Any) -> dict[str, Any]:
    return {c.id: c for c in result.checks}


def _preflight(world: Any) -> tuple[Any, Any]:
    ctx = build_context(world, "ea01", quiet=True)
    return ctx, asyncio.run(preflight.run(ctx))


def _sign_in_and_wait(world: Any, ctx: Any, minutes: float) -> None:
    """ea01 signs in (the simulator writes its SigninLogs row), the tenant's clock moves `minutes` on
    with the rule's scheduler ticking, and the context holds what the log rows step would have found."""
    from datetime import UTC, datetime

    from drill.sim.loganalytics.workspace import run_query

    state = world.sim.state
    # First the rule's run over the demo's own set-up sign-ins (key registration), so that this sign-in
    # shares a run with nothing else, as a drill's sign-in does on a quiet tenant.
    for _ in range(12):
        state.clock.advance(30)
        state.tick()
    user = state.tenant.user(str(ctx.account.object_id)) or {}
    event = SignInEvent(
        created=state.clock.now(),
        user_id=str(ctx.account.object_id),
        user_principal_name=str(user.get("userPrincipalName", "")),
        user_display_name=str(user.get("displayName", "")),
        app_id=str(ctx.playbook.drill_app.client_id),
        app_display_name="Break-glass drill",
        result_type="0",
        authentication_details=[{"authenticationMethod": "Passkey (device-bound)", "succeeded": True}],
    )
    ctx.timings.signin_started_at = datetime.now(UTC)
    state.emit_signin(event)
    for _ in range(int(minutes * 2)):
        state.clock.advance(30)
        state.tick()
    columns, rows, _ = run_query(
        state,
        f"SigninLogs | where CorrelationId == '{event.correlation_id}' | project TimeGenerated, Id, "
        "CorrelationId, CreatedDateTime, _TimeReceived",
    )
    names = [c["name"] for c in columns]
    (row,) = [dict(zip(names, r, strict=True)) for r in rows]
    ctx.signin_row = {k: row[k] for k in ("Id", "CorrelationId", "CreatedDateTime", "TimeGenerated")}
    ctx.timings.row_created_at = event.created
    ctx.timings.row_ingested_at = incident.as_time(row["_TimeReceived"])


# Faults a drill refuses before the key is touched: the preflight step FAILs on the named check.
PREFLIGHT_FAULTS = {
    "sentinel-rule-disabled": ("sentinel_rule_enabled", "is disabled: enable it"),
    "sentinel-rule-auto-disabled": ("sentinel_rule_enabled", "auto-disabled"),
    "sentinel-events-folded": ("sentinel_suppression", "turn 'Suppression' off"),
    "sentinel-incident-creation-off": ("sentinel_incident_creation", "turn on 'Create incidents"),
    "sentinel-automation-closes": ("sentinel_automation", "exclude the break-glass rule"),
}


@pytest.mark.parametrize("fault", sorted(PREFLIGHT_FAULTS))
def test_preflight_fails_on_the_broken_rule_before_the_key(sentinel_world: Any, fault: str) -> None:
    check_id, fix = PREFLIGHT_FAULTS[fault]
    _ctx, result = _preflight(sentinel_world(fault))
    assert result.status is Status.FAIL
    check = _checks(result)[check_id]
    assert check.status is Status.FAIL
    assert check.required
    assert fix in check.reason, check.reason
    assert fix in result.reason  # the step's reason names the fix too
    ids = [c.id for c in result.checks]
    assert ids.index(check_id) < ids.index("key_present")  # judged before the key


def test_healthy_rule_passes_preflight_and_the_incident_step(sentinel_world: Any) -> None:
    """The control for the faults below: the same harness proves a healthy rule's alert and incident."""
    world = sentinel_world(None)
    ctx, result = _preflight(world)
    assert result.status is Status.PASS, result.reason
    _sign_in_and_wait(world, ctx, minutes=7)
    proved = asyncio.run(incident.run(ctx))
    assert proved.status is Status.PASS, proved.reason
    assert _checks(proved)["sentinel_incident"].evidence["status"] == "New"


SENTINEL_BELIEFS = (
    "sentinel-account-entity",
    "sentinel-alert-window",
    "sentinel-alert-rule-ref",
    "sentinel-run-delay",
)


def _sentinel_rows() -> list[tuple[str, ...]]:
    """Every form of every Sentinel belief, the i-th form of each in row i (each form is met once)."""
    from drill.sim.beliefs import all_beliefs

    beliefs = all_beliefs()
    forms = {b: list(beliefs[b].forms) for b in SENTINEL_BELIEFS}
    width = max(len(f) for f in forms.values())
    return [tuple(f"{b}={forms[b][i % len(forms[b])]}" for b in SENTINEL_BELIEFS) for i in range(width)]


@pytest.mark.parametrize("variants", _sentinel_rows(), ids=lambda v: ",".join(v))
def test_healthy_rule_passes_under_every_form_of_the_sentinel_beliefs(
    sentinel_world: Any, variants: tuple[str, ...]
) -> None:
    """The variant matrix's browser drills watch by mail; the Sentinel beliefs are proven here, where they
    decide the incident step's verdict."""
    world = sentinel_world(None, variants)
    ctx, result = _preflight(world)
    assert result.status is Status.PASS, result.reason
    _sign_in_and_wait(world, ctx, minutes=12)  # the rule's next run, and Microsoft's five-minute delay
    proved = asyncio.run(incident.run(ctx))
    assert proved.status is Status.PASS, proved.reason
    seen = _checks(proved)["sentinel_alert"].evidence
    entity_form = dict(v.split("=") for v in variants)["sentinel-account-entity"]
    # the passkey row logs the object id as UserPrincipalName: no @, so Name alone in the split form
    assert seen["account_field"] == ("FullName" if entity_form == "fullname" else "Name")
    assert seen["account_identifier"] == "object id"  # recorded: which identifier the entity carried


def test_query_that_misses_this_account_fails_the_incident_step(sentinel_world: Any) -> None:
    world = sentinel_world("sentinel-query-misses-account")
    ctx, result = _preflight(world)
    assert result.status is Status.PASS, result.reason  # the query is valid; only a run shows the miss
    assert _checks(result)["sentinel_query_names_account"].status is Status.FAIL  # a warning, not required
    _sign_in_and_wait(world, ctx, minutes=1)
    failed = asyncio.run(incident.run(ctx))
    assert failed.status is Status.FAIL, (failed.reason, [(c.id, c.evidence) for c in failed.checks])
    check = _checks(failed)["sentinel_query"]
    assert check.status is Status.FAIL
    assert "make the query match every break-glass account's object id (UserId)" in check.reason
    assert check.evidence["matching_rows"] == 0


def test_alert_grouped_into_a_closed_incident_fails_the_incident_step(sentinel_world: Any) -> None:
    world = sentinel_world("sentinel-grouped-into-closed")
    ctx, result = _preflight(world)
    assert result.status is Status.PASS, result.reason
    grouping = _checks(result)["sentinel_alert_grouping"]
    assert grouping.status is Status.FAIL
    assert not grouping.required
    _sign_in_and_wait(world, ctx, minutes=7)
    failed = asyncio.run(incident.run(ctx))
    assert failed.status is Status.FAIL, (failed.reason, [(c.id, c.evidence) for c in failed.checks])
    check = _checks(failed)["sentinel_incident"]
    assert check.status is Status.FAIL
    assert "already Closed" in check.reason
    assert "turn on 'Re-open closed matching incidents'" in check.reason
    assert check.evidence["status"] == "Closed"


def test_incident_later_than_the_sla_fails_the_incident_step(sentinel_world: Any) -> None:
    world = sentinel_world("sentinel-incident-late")
    ctx, result = _preflight(world)
    assert result.status is Status.PASS, result.reason
    _sign_in_and_wait(world, ctx, minutes=28)
    failed = asyncio.run(incident.run(ctx))
    assert failed.status is Status.FAIL, (failed.reason, [(c.id, c.evidence) for c in failed.checks])
    check = _checks(failed)["sentinel_sla"]
    assert check.status is Status.FAIL
    assert f"over the SLA of {ctx.playbook.sla.incident:.0f}s" in check.reason
    assert "SentinelHealth" in check.reason
    assert ctx.timings.time_to_incident_s > ctx.playbook.sla.incident
    assert ctx.timings.incident_number is not None


def test_every_sentinel_belief_is_in_the_rows() -> None:
    from drill.sim.loganalytics.sentinel import BELIEFS

    assert {b.id for b in BELIEFS} == set(SENTINEL_BELIEFS)
    for belief in BELIEFS:
        assert {dict(v.split("=") for v in row)[belief.id] for row in _sentinel_rows()} == set(belief.forms)


def test_every_sentinel_fault_is_tested_here() -> None:
    from drill.sim.loganalytics.sentinel_faults import FAULTS

    drill_time = {
        "sentinel-query-misses-account",
        "sentinel-grouped-into-closed",
        "sentinel-incident-late",
    }
    assert {f.name for f in FAULTS} == set(PREFLIGHT_FAULTS) | drill_time


# -- The Defender portal: the same incident read through Graph /security/incidents (msgraph-sdk over HTTPS) --


DEFENDER_BELIEFS = ("defender-alert-link",)  # each of its forms is a parameter below


def _link_forms() -> list[str]:
    from drill.sim.beliefs import all_beliefs

    return list(all_beliefs()["defender-alert-link"].forms)


@pytest.mark.parametrize("link", _link_forms())
def test_defender_read_passes_under_every_form_of_the_alert_link(sentinel_world: Any, link: str) -> None:
    """Each plausible way the Graph alert names the Sentinel alert is accepted, and the one met recorded."""
    world = sentinel_world(None, (f"defender-alert-link={link}",), watch="defender")
    ctx, result = _preflight(world)
    assert result.status is Status.PASS, result.reason
    granted = result.evidence["permissions"]
    assert "defender" in granted["features"]
    assert "observer-securityincident-read-all" in str(granted)  # checked and found present
    _sign_in_and_wait(world, ctx, minutes=7)
    proved = asyncio.run(incident.run(ctx))
    assert proved.status is Status.PASS, (proved.reason, [(c.id, c.reason) for c in proved.checks])
    check = _checks(proved)["defender_incident"]
    found = check.evidence
    expected = {"provider-alert-id": "providerAlertId", "detector-id": "detectorId", "title-only": "title"}
    assert found["link"] == expected[link]
    assert found["status"] == "active"
    number = _checks(proved)["sentinel_incident"].evidence["incidentNumber"]
    assert found["graphIncidentId"]
    assert found["graphIncidentId"] != str(number)  # the portal's own id
    assert found["incidentWebUrl"] == (
        f"https://security.microsoft.com/incidents/{found['graphIncidentId']}?tid={world.sim.state.tenant.id}"
    )
    assert found["incidentWebUrl"] in check.reason
    assert found["createdDateTime"]
    if link == "title-only":  # one world less: the permission withdrawn after preflight, on this one
        _refused_after_preflight(world, ctx)


def _refused_after_preflight(world: Any, ctx: Any) -> None:
    """Graph's own 403 reaches the incident step, which names the grant and how to give it."""
    from drill.auth import observer_credential
    from drill.sim.faults import apply_fault

    apply_fault(world.sim.state, "grant-missing-observer-securityincident-read-all")
    ctx.observer = observer_credential(ctx.playbook, ctx.cloud)  # a new token, without the role
    failed = asyncio.run(incident.run(ctx))
    check = _checks(failed)["defender_incident"]
    assert failed.status is Status.FAIL
    assert "HTTP 403" in check.reason
    assert "SecurityIncident.Read.All" in check.reason


def test_defender_read_missing_permission_fails_preflight_naming_it(sentinel_world: Any) -> None:
    world = sentinel_world("grant-missing-observer-securityincident-read-all", watch="defender")
    _ctx, result = _preflight(world)
    assert result.status is Status.FAIL
    check = _checks(result)["permission:observer-securityincident-read-all"]
    assert check.status is Status.FAIL
    assert "SecurityIncident.Read.All" in check.reason
    assert "observer" in check.reason.lower()
    assert "consent" in check.reason.lower()  # how to grant it


def test_incident_not_in_the_defender_portal_fails_the_incident_step(sentinel_world: Any) -> None:
    world = sentinel_world("defender-incident-missing", watch="defender")
    ctx, result = _preflight(world)
    assert result.status is Status.PASS, result.reason
    _sign_in_and_wait(world, ctx, minutes=20)  # past the portal's sync allowance on the tenant's clock
    failed = asyncio.run(incident.run(ctx))
    assert failed.status is Status.FAIL, (failed.reason, [(c.id, c.evidence) for c in failed.checks])
    assert _checks(failed)["sentinel_incident"].status is Status.PASS  # Sentinel has it; the portal not
    check = _checks(failed)["defender_incident"]
    assert check.status is Status.FAIL
    assert "connect the workspace to the Microsoft Defender portal" in check.reason
    assert "sentinel.defender_onboarded: false" in check.reason


def test_a_defender_fault_needs_the_defender_watch() -> None:
    """A fault of a read the playbook does not make would PASS unseen: the demo refuses it with the fix."""
    from drill.errors import DrillUserError

    with (
        pytest.raises(DrillUserError, match="only --watch defender uses"),
        demo_world(fault="defender-incident-missing", watch="sentinel"),
    ):
        pass
