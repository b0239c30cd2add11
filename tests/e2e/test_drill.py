"""The whole drill, end to end: real Chromium, the software key under python-fido2, msal, msgraph-sdk and
azure-monitor-query, against the simulated tenant over TLS. Nothing here is mocked.

The simulator's clock is sped up in the fault matrix so one-minute alert rules evaluate in seconds; the
healthy drill runs at real speed so its timings are real.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drill.evidence.bundle import BundleWriter
from drill.evidence.model import Status, Verdict
from drill.evidence.signing import Signer
from drill.run.demo import build_context, demo_world
from drill.run.loop import execute
from drill.testing import scan_for_secrets

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def record_issued_tokens(world: Any) -> list[str]:
    """Every token the simulator issues from now on, so the secret scan looks for the exact values."""
    from drill.sim.state import token_service

    svc = token_service(world.sim.state)
    issued: list[str] = []
    original = svc.issue

    def issue(*args: Any, **kwargs: Any) -> str:
        value: str = original(*args, **kwargs)
        issued.append(value)
        return value

    svc.issue = issue
    return issued


def run_drill(
    tmp_path: Path, *, fault: str | None = None, scale: float = 1.0, sla: dict[str, int] | None = None
) -> tuple[Any, BundleWriter, dict[str, Any]]:
    out = tmp_path / "reports"
    with demo_world(tmp_path / "state", fault=fault) as world:
        world.sim.state.clock.set_scale(scale)
        issued = record_issued_tokens(world)
        if sla:
            world.playbook = world.playbook.model_copy(
                update={"sla": world.playbook.sla.model_copy(update=sla)}
            )
        ctx = build_context(world, "ea01", quiet=True)
        writer = BundleWriter(out, Signer.load(state_dir=tmp_path / "signing"), pdf=None)
        code = execute(ctx, writer)
        secrets = [world.pin, os.environ.get("DRILL_DEMO_OBSERVER_SECRET", ""), *issued]
    assert writer.finished is not None
    record = json.loads((writer.finished.path / "report.json").read_text())
    return code, writer, {"record": record, "secrets": secrets, "ctx": ctx}


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, BundleWriter, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("healthy")
    return run_drill(tmp)


def test_healthy_tenant_passes_with_every_check_and_timing(healthy: Any) -> None:
    code, writer, info = healthy
    record = info["record"]
    assert record["verdict"] == Verdict.PASS.value, record["reason"]
    assert code == 0
    steps = {s["step"]: s for s in record["steps"]}
    for name in ("preflight", "signin", "ga_proof", "log_rows", "alert", "cleanup"):
        assert steps[name]["status"] == Status.PASS.value, (name, steps[name]["reason"])
        assert steps[name]["checks"], name
    t = record["timings"]
    for key in (
        "signin_s",
        "row_created_at",
        "row_ingested_at",
        "row_seen_at",
        "ingestion_latency_s",
        "time_to_row_s",
        "alert_received_at",
        "time_to_alert_s",
    ):
        assert t[key] is not None, key
    assert t["ingestion_latency_s"] >= 4.0  # the demo tenant ingests after 5 s
    assert steps["signin"]["screenshots"], "a screenshot per page"
    for shot in steps["signin"]["screenshots"]:
        assert (writer.finished.path / shot).is_file()


def test_healthy_bundle_holds_no_secret(healthy: Any) -> None:
    _code, writer, info = healthy
    secrets = [v for v in info["secrets"] if v]
    assert len(secrets) >= 4  # the PIN, the observer's secret, and the tokens issued during the drill
    findings = scan_for_secrets([writer.finished.path.parent], secrets)
    assert findings == []


# Where each fault must stop the drill: the first required step that fails. The throttling and 5xx faults
# outlast the client libraries' own retries (msgraph-sdk retries 429/503/504 three times, azure-core
# likewise), so the first call that meets them fails; shorter bursts are ridden out (tests/sim/graph shows
# the SDK absorbing them). A fault listed as None would have to PASS.
EXPECTED_STEP: dict[str, str | None] = {
    "account-disabled": "signin",
    "aaguid-not-allowed": "signin",
    "attestation-enforced-unattested": "signin",
    "auth-strength-aaguid-unmet": "signin",
    "ca-block": "signin",
    "ca-compliant-device": "signin",
    "passkey-deleted": "signin",
    "ca-extra-policy-applies": "log_rows",
    "token-endpoint-down": "preflight",
    "ga-removed": "ga_proof",
    "ga-eligible-only": "ga_proof",
    "ga-time-bound": "ga_proof",
    "ga-group-only": "ga_proof",
    "graph-throttled": "preflight",
    "graph-5xx-burst": "preflight",
    "diag-missing": "log_rows",
    "diag-no-signinlogs": "log_rows",
    "ingestion-stopped": "log_rows",
    "ingestion-slow": "log_rows",
    "alert-wrong-query": "alert",
    "alert-disabled": "alert",
    "alert-muted": "alert",
    "alert-frequency-too-slow": "alert",
    "action-group-no-mailbox": "alert",
    "mail-dropped": "alert",
    "la-throttled": "preflight",
    "la-5xx-burst": "preflight",
}


def _faults() -> list[str]:
    from drill.sim.faults import all_faults

    return sorted(all_faults())


def test_every_simulator_fault_has_an_expectation() -> None:
    missing = [name for name in _faults() if name not in EXPECTED_STEP]
    assert missing == [], f"add these faults to EXPECTED_STEP: {missing}"


@pytest.mark.parametrize("fault", _faults())
def test_fault_matrix(fault: str, tmp_path: Path) -> None:
    expected = EXPECTED_STEP.get(fault, "unknown")
    # Ten times faster simulated time: a one-minute alert rule evaluates every six seconds. Waits that
    # must fail are kept short; transient faults get room to recover.
    sla = {"log_row": 15, "alert": 25} if expected else {"log_row": 60, "alert": 120}
    code, writer, info = run_drill(tmp_path, fault=fault, scale=10, sla=sla)
    record = info["record"]
    steps = {s["step"]: s for s in record["steps"]}
    if expected is None:
        assert record["verdict"] == "PASS", record["reason"]
        assert code == 0
        return
    assert record["verdict"] == "FAIL", f"{fault} must never pass"
    assert code == 1
    assert record["reason"].startswith(expected), (fault, record["reason"])
    failing = steps[expected]
    assert failing["status"] in {"fail", "error"}
    assert len(failing["reason"]) > 20, "the reason must say what to fix"
    assert steps["cleanup"]["status"] == "pass"
    assert scan_for_secrets([writer.finished.path], [s for s in info["secrets"] if s]) == []
