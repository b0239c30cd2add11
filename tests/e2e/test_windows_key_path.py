"""A whole drill on the Windows WebAuthn path (no administrator rights), end to end: real Chromium, msal,
msgraph-sdk and azure-monitor-query against the simulated tenant; only webauthn.dll is stood in for, at
`WindowsAuthenticator`'s seam, by a software key answering as the OS dialog would (drill.testing).

One drill, sped-up clock, many assertions: it PASSes, and its report marks each check preflight could not
observe with the proof that replaced it. A wrong key model failing is tested at the step that proves it
(tests/sim/graph/test_windows_key_identity.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from drill.evidence import junit, markdown
from drill.evidence.bundle import BundleWriter
from drill.evidence.model import DrillRecord, Status, Verdict
from drill.evidence.signing import Signer
from drill.keys.key_path import choose_key_path
from drill.keys.software import SoftwareKey
from drill.run.demo import build_context, demo_world
from drill.run.loop import execute
from drill.testing import windows_authenticator

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPLACED = {
    "key_present": "signin/webauthn_used",
    "key_aaguid": "signin/key_identity",
    "key_pin_set": "signin/key_user_verified",
}


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("windows-path")
    with demo_world(tmp / "state") as world:
        world.sim.state.clock.set_scale(10)
        ctx = build_context(world, "ea01", quiet=True)
        key = SoftwareKey.open(world.key_paths["ea01"])
        related = world.cloud.webauthn_related_origins
        auth = windows_authenticator(key, world.pin, related, ctx.account.key.aaguids)
        ctx.open_key = lambda: auth
        ctx.key_path = choose_key_path(platform="win32", elevated=False)
        said: list[str] = []
        real_info = ctx.progress.info

        def info(message: str, **fields: Any) -> None:  # what the operator's console is told, in order
            said.append(message)
            real_info(message, **fields)

        ctx.progress.info = info  # type: ignore[method-assign]
        writer = BundleWriter(tmp / "reports", Signer.load(state_dir=tmp / "signing"), pdf=None)
        code = execute(ctx, writer)
    assert writer.finished is not None
    folder = writer.finished.path
    return {
        "code": code,
        "record": json.loads((folder / "report.json").read_text()),
        "folder": folder,
        "said": said,
    }


def test_the_windows_path_drill_passes(drill: dict[str, Any]) -> None:
    record = drill["record"]
    assert record["verdict"] == Verdict.PASS.value, record["reason"]
    assert drill["code"] == 0
    assert record["key"].get("unreadable") or any(
        c["evidence"].get("unreadable")
        for s in record["steps"]
        for c in s["checks"]
        if c["id"] == "key_present"
    )


def test_the_report_marks_each_unobservable_check_and_its_proof(drill: dict[str, Any]) -> None:
    steps = {s["step"]: s for s in drill["record"]["steps"]}
    pre = {c["id"]: c for c in steps["preflight"]["checks"]}
    signin = {c["id"]: c for c in steps["signin"]["checks"]}
    for check_id, proof in REPLACED.items():
        assert pre[check_id]["status"] == Status.NOT_OBSERVABLE.value
        assert pre[check_id]["replaced_by"] == proof
        assert signin[proof.split("/")[1]]["status"] == Status.PASS.value, signin[proof.split("/")[1]]
    assert pre["key_pin_retries"]["status"] == Status.NOT_OBSERVABLE.value
    assert pre["key_pin_retries"]["required"] is False
    identity = signin["key_identity"]
    assert identity["evidence"]["credential_id"]
    assert identity["evidence"]["passkeys"]
    titles = [f["title"] for f in drill["record"]["findings"]]
    assert "PIN retry guard unavailable" in titles
    html = (drill["folder"] / "report.html").read_text()  # in the signed bundle
    assert "proven instead by signin/key_user_verified: PASS" in html
    record = DrillRecord.model_validate(drill["record"])  # what `drill report` renders from the bundle
    text = markdown.render(record)
    assert "NOT OBSERVABLE" in text
    assert "proven instead by signin/key_identity: PASS" in text
    assert "proven instead by signin/webauthn_used: PASS" in junit.render(record)


def test_the_operator_was_told_before_the_ceremony(drill: dict[str, Any]) -> None:
    assert any("PIN retry guard is OFF" in line for line in drill["said"])
