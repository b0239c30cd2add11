"""Drill records for the evidence tests: a healthy drill and the failure shapes the drill can produce.

The secrets planted here (PIN, token, auth code, cookie, client secret) must never reach a bundle file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from drill.evidence.model import Check, DrillRecord, Finding, Status, StepResult, Timings, Verdict

T0 = datetime(2026, 11, 25, 6, 0, 0, tzinfo=UTC)
PIN = "918273"
JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiIwMDAwMDAwMy0wMDAwIiwidGlkIjoidGVuYW50In0."
    "c2lnbmF0dXJlLWJ5dGVzLXRoYXQtbXVzdC1uZXZlci1sYW5k"
)
AUTH_CODE = "1.AXoAqZ-code-value-SECRETCODE9f8e7d6c5b4a"
COOKIE = "ESTSAUTHPERSISTENT=0.AXoAsecretcookievalueQQQ"
CLIENT_SECRET = "Zx8Q~clientSecretValue.0123456789abcdef"
SECRETS = (PIN, JWT, AUTH_CODE, COOKIE.split("=", 1)[1], CLIENT_SECRET)


def _step(
    name: str,
    offset: float,
    duration: float,
    status: Status = Status.PASS,
    checks: list[Check] | None = None,
    required: bool = True,
    reason: str = "every check passed",
    evidence: dict[str, Any] | None = None,
) -> StepResult:
    start = T0 + timedelta(seconds=offset)
    return StepResult(
        step=name,
        title=name.replace("_", " ").title(),
        status=status,
        reason=reason,
        started_at=start,
        ended_at=start + timedelta(seconds=duration),
        duration_s=duration,
        checks=checks or [],
        evidence=evidence or {},
        required=required,
    )


def healthy(drill_id: str = "drill-20261125-060000-bg1", account: str = "bg-primary") -> DrillRecord:
    """A PASS drill with every check, timing and SLA present, and secrets planted in its evidence."""
    t = Timings(
        signin_started_at=T0 + timedelta(seconds=5),
        signin_completed_at=T0 + timedelta(seconds=14),
        signin_s=9.0,
        row_created_at=T0 + timedelta(seconds=13),
        row_ingested_at=T0 + timedelta(seconds=140),
        row_seen_at=T0 + timedelta(seconds=143),
        ingestion_latency_s=127.0,
        detection_lag_s=3.0,
        time_to_row_s=129.0,
        alert_received_at=T0 + timedelta(seconds=420),
        alert_seen_at=T0 + timedelta(seconds=424),
        time_to_alert_s=406.0,
        alert_detection_lag_s=4.0,
        total_s=430.0,
    )
    steps = [
        _step(
            "preflight",
            0,
            4,
            checks=[
                Check(
                    id="key_present",
                    title="Key present",
                    status=Status.PASS,
                    reason="YubiKey 5 NFC, PIN set, 8 retries",
                    evidence={"aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8", "pin": PIN},
                )
            ],
        ),
        _step("announce", 4, 1, required=False),
        _step(
            "signin",
            5,
            9,
            checks=[
                Check(
                    id="token_claims",
                    title="Token for the break-glass account",
                    status=Status.PASS,
                    reason="aud, tid, oid match; amr has fido",
                    evidence={
                        "aud": "00000003-0000-0000-c000-000000000000",
                        "tid": "tenant",
                        "amr": ["fido", "mfa"],
                        "wids": ["62e90394-69f5-4237-9190-012177145e10"],
                        "id_token": JWT,
                        "access_token": JWT,
                    },
                )
            ],
            evidence={
                "redirect": f"https://localhost/cb?code={AUTH_CODE}&state=abc",
                "cookies": [COOKIE],
                "headers": {"Cookie": COOKIE, "Authorization": f"Bearer {JWT}"},
                "observer": {"client_secret": CLIENT_SECRET},
            },
        ),
        _step(
            "ga_proof",
            14,
            2,
            checks=[
                Check(
                    id="ga_active_permanent",
                    title="Global Administrator",
                    status=Status.PASS,
                    reason="direct, tenant-wide, permanent",
                )
            ],
        ),
        _step(
            "log_rows",
            16,
            128,
            checks=[
                Check(
                    id="row_found",
                    title="Sign-in row",
                    status=Status.PASS,
                    reason="row found",
                    evidence={
                        "CreatedDateTime": "2026-11-25T06:00:13Z",
                        "TimeGenerated": "2026-11-25T06:02:20Z",
                        "AppDisplayName": "breakglass-drill",
                        "ConditionalAccessPolicies": ["BG: require key"],
                    },
                ),
                Check(
                    id="ca_policies",
                    title="Only break-glass CA policies applied",
                    status=Status.PASS,
                    reason="exactly the playbook's policies",
                ),
            ],
        ),
        _step(
            "alert",
            144,
            280,
            checks=[
                Check(
                    id="alert_mail",
                    title="Alert email",
                    status=Status.PASS,
                    reason="received 406 s after sign-in",
                    evidence={"subject": "Break-glass sign-in", "from": "azure-noreply@microsoft.com"},
                )
            ],
        ),
        _step("cleanup", 424, 2),
    ]
    return DrillRecord(
        drill_id=drill_id,
        verdict=Verdict.PASS,
        reason="every required step and check passed",
        tenant_id="8c1f5a3e-2b4d-4e6f-9a0b-1c2d3e4f5a6b",
        tenant_domain="contoso.example",
        cloud="public",
        account_name=account,
        account_upn=f"{account}@contoso.example",
        account_object_id="1b2c3d4e-0000-4000-8000-000000000001",
        key={
            "aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8",
            "model": "YubiKey 5 NFC",
            "serial": "12345678",
        },
        operator={"os_user": "alice", "name": "Alice Auditor"},
        witness="Bob Witness",
        workstation={"host": "drill-ws-01", "os": "Linux", "browser": "Chromium 131"},
        started_at=T0,
        ended_at=T0 + timedelta(seconds=430),
        steps=steps,
        timings=t,
        findings=[Finding(severity="info", title="Drill announced", detail="mail to soc@contoso.example")],
        next_due=date(2027, 5, 24),
        sla={"time_to_row_s": 900.0, "time_to_alert_s": 1800.0, "ingestion_latency_s": 600.0},
    )


def failing(kind: str, drill_id: str | None = None) -> DrillRecord:
    """Failure shapes: a failed check, an errored step, a late alert, an interrupted drill."""
    rec = healthy(drill_id or f"drill-{kind}")
    steps = list(rec.steps)
    if kind == "ga_eligible":
        steps[3] = _step(
            "ga_proof",
            14,
            2,
            Status.FAIL,
            reason="GA is eligible only",
            checks=[
                Check(
                    id="ga_active_permanent",
                    title="Global Administrator",
                    status=Status.FAIL,
                    reason="assignment is eligible, not active",
                )
            ],
        )
    elif kind == "no_row":
        steps[4] = _step("log_rows", 16, 900, Status.FAIL, reason="no SigninLogs row within 900 s")
        steps[5] = _step("alert", 916, 0, Status.SKIPPED, reason="not run: log_rows did not pass")
        rec.timings = Timings(
            signin_started_at=rec.timings.signin_started_at,
            signin_completed_at=rec.timings.signin_completed_at,
            signin_s=9.0,
        )
    elif kind == "late_alert":
        steps[5] = _step("alert", 144, 2000, Status.FAIL, reason="no alert within 1800 s")
        rec.timings = rec.timings.model_copy(
            update={"alert_received_at": T0 + timedelta(seconds=2100), "time_to_alert_s": 2086.0}
        )
    elif kind == "crashed":
        steps[2] = _step("signin", 5, 9, Status.ERROR, reason="crashed: TimeoutError at signin.py:88")
        steps[3:6] = [
            _step(n, 14, 0, Status.SKIPPED, reason="not run: signin did not pass")
            for n in ("ga_proof", "log_rows", "alert")
        ]
    elif kind == "interrupted":
        steps = steps[:3]
        rec.ended_at = T0 + timedelta(seconds=20)
        return rec.model_copy(
            update={
                "steps": steps,
                "verdict": Verdict.INCOMPLETE,
                "reason": "the drill did not finish",
                "next_due": None,
            }
        )
    else:
        raise ValueError(kind)
    from drill.evidence.model import decide_verdict

    verdict, reason = decide_verdict(steps, finished=True)
    return rec.model_copy(update={"steps": steps, "verdict": verdict, "reason": reason, "next_due": None})


FAILURES = ("ga_eligible", "no_row", "late_alert", "crashed", "interrupted")
