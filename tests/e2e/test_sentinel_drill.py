"""The Sentinel watch end to end (issue 24): the demo with a Sentinel-only playbook, and with both watches.

Each drill is real Chromium, the software key, msal, msgraph-sdk and azure-monitor-query against the
simulated tenant over TLS, on a sped-up clock; one module-scoped drill per playbook carries every assertion.
The Sentinel-only drill's rule runs the seed-style union query
(drill/assets/demo/queries/demo-breakglass-sentinel.kql,
AccountCustomEntity and IPCustomEntity mapped). Each failure mode is tested at the step level against the
simulator (tests/e2e/test_sentinel_faults.py), not by a browser drill each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_drill import WAIT_SCALE, speed_up_after_signin

from drill.evidence.bundle import BundleWriter
from drill.evidence.model import Status, Verdict
from drill.evidence.signing import Signer
from drill.run.demo import build_context, demo_world
from drill.run.loop import execute

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _drill(tmp: Path, watch: str) -> dict[str, Any]:
    out = tmp / "reports"
    with demo_world(tmp / "state", watch=watch) as world:
        world.sim.state.clock.set_scale(10.0)  # the sign-in pages' flows: the fault matrix's 10x
        # After the sign-in the waits go 30x (as the variant matrix's): a five-minute rule run plus Sentinel's
        # five-minute delay take 20 real seconds instead of a minute.
        speed_up_after_signin(world, WAIT_SCALE)
        ctx = build_context(world, "ea01", quiet=True)
        writer = BundleWriter(out, Signer.load(state_dir=tmp / "signing"), pdf=None)
        code = execute(ctx, writer)
        rule = world.sim.state.tenant.azure["sentinel"]["alertRules"][0]
        query = Path(world.sim.state.tenant.source.parent / rule["queryFile"]).read_text(encoding="utf-8")
    assert writer.finished is not None
    folder = writer.finished.path
    return {"code": code, "record": json.loads((folder / "report.json").read_text()), "folder": folder,
            "query": query, "playbook": world.playbook}  # fmt: skip


@pytest.fixture(scope="module")
def sentinel_only(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _drill(tmp_path_factory.mktemp("sentinel-only"), "sentinel")


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _drill(tmp_path_factory.mktemp("both-watches"), "both")


def _steps(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["step"]: s for s in record["steps"]}


def test_sentinel_only_playbook_passes_with_the_seed_query_and_shows_the_incident_on_the_timeline(
    sentinel_only: dict[str, Any],
) -> None:
    record = sentinel_only["record"]
    assert record["verdict"] == Verdict.PASS.value, record["reason"]
    assert sentinel_only["code"] == 0
    assert sentinel_only["playbook"].alert is None
    # the seed-style union query, entities through the legacy custom-entity columns, is the deployed rule
    query = sentinel_only["query"]
    assert "union isfuzzy=true" in query
    assert "AccountCustomEntity" in query
    assert "IPCustomEntity" in query
    steps = _steps(record)
    assert "alert" not in steps  # no mail watch, no mail step
    for name in ("preflight", "signin", "ga_proof", "log_rows", "incident", "cleanup"):
        assert steps[name]["status"] == Status.PASS.value, (name, steps[name]["reason"])
    checks = {c["id"]: c for c in steps["preflight"]["checks"]}
    for check_id in ("sentinel_rule", "sentinel_rule_enabled", "sentinel_rule_frequency",
                     "sentinel_rule_period",
                     "sentinel_rule_threshold", "sentinel_suppression", "sentinel_incident_creation",
                     "sentinel_automation"):  # fmt: skip
        assert checks[check_id]["status"] == Status.PASS.value, (check_id, checks[check_id]["reason"])
    assert "observer_mailbox" not in checks  # the observer reads no mailbox
    incident = {c["id"]: c for c in steps["incident"]["checks"]}
    assert incident["sentinel_query"]["status"] == Status.PASS.value
    alert = incident["sentinel_alert"]["evidence"]
    assert alert["account_identifier"] in ("object id", "upn")
    assert alert["account_value"].lower() in {
        "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01", "ea01@contoso.onmicrosoft.com"}  # fmt: skip
    found = incident["sentinel_incident"]["evidence"]
    assert found["incidentNumber"] >= 1
    assert found["status"] in ("New", "Active")
    assert found["owner"] == "unassigned"
    assert found["createdTime"]
    t = record["timings"]
    assert t["incident_number"] == found["incidentNumber"]
    assert 0 < t["time_to_sentinel_alert_s"] <= t["time_to_incident_s"] <= record["sla"]["incident"]
    assert t["row_created_at"] < t["sentinel_alert_at"] <= t["incident_created_at"]
    # The report's timeline: sign-in -> row -> Sentinel alert -> incident #N (one drill carries it all: a
    # second test on this module fixture would cost a second drill under xdist).
    html = (sentinel_only["folder"] / "report.html").read_text(encoding="utf-8")
    number = t["incident_number"]
    marks = ["Sign-in completed", "Log row ingested", "Sentinel alert", f"Incident #{number} created"]
    positions = [html.find(m) for m in marks]
    assert all(p >= 0 for p in positions), dict(zip(marks, positions, strict=True))
    assert positions == sorted(positions)


def test_both_watches_pass_and_each_is_required(both: dict[str, Any]) -> None:
    record = both["record"]
    assert record["verdict"] == Verdict.PASS.value, record["reason"]
    assert both["code"] == 0
    steps = _steps(record)
    for name in ("alert", "incident"):
        assert steps[name]["status"] == Status.PASS.value, (name, steps[name]["reason"])
        assert steps[name]["required"] is True
    assert both["playbook"].sentinel.rule.count("-") == 4  # named by its id (a GUID) here
    t = record["timings"]
    assert t["time_to_alert_s"] is not None
    assert t["incident_number"] is not None
