"""The drill record: the one shape the orchestrator writes and every evidence renderer reads.

It is versioned (`schema_version`) and strict (`extra="forbid"`) because an auditor reads old bundles
with new tools: an unknown field is a bug to surface, not data to drop silently.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Status(StrEnum):
    """Outcome of one check or step."""

    PASS = "pass"  # noqa: S105 (a status, not a password)
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    # The platform cannot show this (the Windows WebAuthn API hides the key until its dialog): never a PASS by
    # itself. A required one counts as passed only when the check its `replaced_by` names passed.
    NOT_OBSERVABLE = "not_observable"


class Verdict(StrEnum):
    """Outcome of the whole drill; INCOMPLETE means it never finished (crash, Ctrl-C, still running)."""

    PASS = "PASS"  # noqa: S105 (a verdict, not a password)
    FAIL = "FAIL"
    INCOMPLETE = "INCOMPLETE"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Check(_Strict):
    """One proven (or disproven) claim, with the excerpt that supports it."""

    id: str
    title: str
    status: Status
    reason: str
    required: bool = True
    evidence: dict[str, Any] = Field(default_factory=dict)
    replaced_by: str | None = None  # "step/check" whose PASS proves what this not-observable check could not


def check_ref(step: str, check_id: str) -> str:
    """The one spelling of a check's reference (`replaced_by`, `first_failure`)."""
    return f"{step}/{check_id}"


def find_check(steps: list[StepResult], ref: str) -> Check | None:
    for step in steps:
        for check in step.checks:
            if check_ref(step.step, check.id) == ref:
                return check
    return None


def replacement_passed(steps: list[StepResult], check: Check) -> bool:
    """A not-observable check's proof: the check it names exists and passed (and is not itself replaced)."""
    found = find_check(steps, check.replaced_by) if check.replaced_by else None
    return found is not None and found.status is Status.PASS


def effective_status(steps: list[StepResult], check: Check) -> Status:
    """What a check counts as in the verdict: a not-observable one passes only through its proof."""
    if check.status is not Status.NOT_OBSERVABLE:
        return check.status
    return Status.PASS if replacement_passed(steps, check) else Status.FAIL


def replacement_note(steps: list[StepResult], check: Check) -> str:
    """How a renderer shows a not-observable check's proof (empty for every other check)."""
    if check.status is not Status.NOT_OBSERVABLE:
        return ""
    if not check.replaced_by:
        optional = "" if check.required else " (optional)"
        return f"not observable on this platform; nothing replaces it{optional}"
    found = find_check(steps, check.replaced_by)
    state = "did not run" if found is None else found.status.value.upper()
    return f"not observable on this platform; proven instead by {check.replaced_by}: {state}"


class StepResult(_Strict):
    """A finished step: its checks, UTC wall times, and screenshots (paths relative to the bundle)."""

    step: str
    title: str
    status: Status
    reason: str
    started_at: datetime
    ended_at: datetime
    duration_s: float
    checks: list[Check] = Field(default_factory=list)
    evidence: dict[str, Any] = Field(default_factory=dict)
    screenshots: list[str] = Field(default_factory=list)
    required: bool = True


class Finding(_Strict):
    """Something the auditor or operator should act on, even when the drill passed."""

    severity: Literal["info", "advisory", "warning", "critical"]
    title: str
    detail: str
    step: str | None = None


class SignInPage(_Strict):
    """One page (or view) the browser sign-in met, in order: the first live run shows where the
    simulator's pages differ from Entra's. Kept in the sign-in step's evidence as `page_sequence`."""

    pgid: str | None = None  # Entra's $Config.pgid / PageID meta; None for the FIDO ceremony page
    view: str  # the driver's name for the page or view (username, picker, fido_ceremony, kmsi, ...)
    host: str = ""
    path: str  # URL path only: no query, no fragment
    error_codes: list[str] = Field(default_factory=list)  # AADSTS numbers only, never message text


class Timings(_Strict):
    """The latencies the drill measured. Every field is optional because a failed drill measures less."""

    signin_started_at: datetime | None = None
    signin_completed_at: datetime | None = None
    signin_s: float | None = None
    row_created_at: datetime | None = None
    row_ingested_at: datetime | None = None  # ingestion_time() of the row's first arrival
    row_seen_at: datetime | None = None
    ingestion_latency_s: float | None = None  # ingestion_time() - CreatedDateTime (first arrival)
    detection_lag_s: float | None = None  # runner saw it - it arrived (on the tenant's clock)
    time_to_row_s: float | None = None  # sign-in completed -> row seen by the runner
    alert_received_at: datetime | None = None
    alert_seen_at: datetime | None = None
    time_to_alert_s: float | None = None  # sign-in completed -> alert mail received
    alert_detection_lag_s: float | None = None
    # The Sentinel watch (issue 24): the rule's SecurityAlert and its incident, on the tenant's clock.
    sentinel_alert_at: datetime | None = None
    time_to_sentinel_alert_s: float | None = None  # the row's CreatedDateTime -> the SecurityAlert
    incident_created_at: datetime | None = None  # when the alert joined its incident (a new one: created)
    time_to_incident_s: float | None = None  # the row's CreatedDateTime -> the incident holding the alert
    incident_number: int | None = None
    total_s: float | None = None
    clock_skew_s: float | None = None  # tenant clock - workstation clock, from the services' Date headers


class Control(_Strict):
    """A compliance control this drill is evidence for (framework, control id, its title)."""

    framework: str
    id: str
    title: str


class Confirmation(_Strict):
    """A statement the operator confirmed (or did not) after the drill; signed with the bundle."""

    id: str
    statement: str
    confirmed: bool
    detail: str | None = None  # the seal id, or why there is no answer
    by: str | None = None  # the operator who answered
    value: str | None = None  # what the operator entered, when it is compared (the emergency card's code)
    expected: str | None = None  # what it had to be (today's card code); None when there is nothing to match
    at: datetime


class BrowserRun(_Strict):
    """Which browser drove the sign-in, why that one, and its version (as the browser itself reports it)."""

    name: str  # "Playwright's Chromium", "Chromium", "Chromium headless shell", "Google Chrome", ...
    channel: str | None = None  # Playwright's channel: "chrome", "msedge"; None for a Chromium by path
    executable: str | None = None
    chosen_by: str | None = None  # "playbook browser.channel", "playbook browser.executable", "found", ...
    version: str  # CDP Browser.getVersion's product, e.g. "Chrome/156.0.8078.114"
    user_agent: str | None = None  # the browser's own; Edge's carries "Edg/<version>"
    # A headless shell's pages: the user agent and brands they presented, the brand left out (HeadlessChrome).
    client_hints: dict[str, Any] | None = None


class DrillRecord(_Strict):
    """Everything one drill proved. Never holds a PIN, token, code or cookie (redacted before it lands)."""

    schema_version: int = SCHEMA_VERSION
    drill_id: str
    verdict: Verdict
    reason: str
    tenant_id: str | None = None
    tenant_domain: str | None = None
    cloud: str | None = None
    account_name: str
    account_upn: str | None = None
    account_object_id: str | None = None
    key: dict[str, Any] = Field(default_factory=dict)  # aaguid, model, serial, firmware, kind; never the PIN
    operator: dict[str, Any] = Field(default_factory=dict)  # os_user, name
    witness: str | None = None
    workstation: dict[str, Any] = Field(default_factory=dict)  # host, os, python, versions, browser
    browser: BrowserRun | None = None  # the browser that drove the sign-in (None: no sign-in ran)
    started_at: datetime
    ended_at: datetime | None = None
    steps: list[StepResult] = Field(default_factory=list)
    timings: Timings = Field(default_factory=Timings)
    findings: list[Finding] = Field(default_factory=list)
    next_due: date | None = None
    sla: dict[str, float] = Field(default_factory=dict)  # seconds, e.g. {"time_to_alert_s": 1800}
    controls: list[Control] = Field(default_factory=list)  # what this drill evidences (set at start)
    confirmations: list[Confirmation] = Field(default_factory=list)  # the operator's, after the drill


def first_failure(steps: list[StepResult]) -> str | None:
    """Name the first required step or check that did not pass, as `step: reason` or `step/check: reason`."""
    for step in steps:
        if not step.required:
            continue
        for check in step.checks:
            if check.required and effective_status(steps, check) is not Status.PASS:
                return f"{check_ref(step.step, check.id)}: {_failure_reason(steps, check)}"
        if step.status is not Status.PASS:
            return f"{step.step}: {step.reason}"
    return None


def _failure_reason(steps: list[StepResult], check: Check) -> str:
    if check.status is not Status.NOT_OBSERVABLE:
        return check.reason
    if not check.replaced_by:
        return f"not observable on this platform and nothing proves it instead ({check.reason})"
    found = find_check(steps, check.replaced_by)
    state = "did not run" if found is None else f"is {found.status.value}: {found.reason}"
    return f"not observable on this platform ({check.reason}), and its proof {check.replaced_by} {state}"


def decide_verdict(steps: list[StepResult], finished: bool) -> tuple[Verdict, str]:
    """PASS only when the drill finished and every required step and required check passed.

    Not finished is INCOMPLETE whatever came before (an interrupted drill proves nothing either way, and
    the exit code says so); fail closed otherwise: a required step that was skipped or errored is a
    failure, and a drill in which no required step ran never passes.
    """
    failure = first_failure(steps)
    if not finished:
        suffix = f" (first failure so far: {failure})" if failure else ""
        return Verdict.INCOMPLETE, f"the drill did not finish{suffix}"
    if failure is not None:
        return Verdict.FAIL, failure
    if not any(step.required for step in steps):
        return Verdict.FAIL, "no required step ran"
    return Verdict.PASS, "every required step and check passed"
