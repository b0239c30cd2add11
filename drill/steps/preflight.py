"""Step: everything a drill needs is in place before anyone signs in.

Also `drill preflight PLAYBOOK` on the day before a drill: endpoints answer, the observer can query the
workspace and list the alert mailbox, a Chromium starts, and the right key is present with its PIN set and
enough retries left. Nothing here signs the break-glass account in.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from drill.evidence.model import StepResult
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext
from drill.steps.mail_access import SAMPLE, body_access, token_roles
from drill.steps.monitoring_preflight import check_monitoring
from drill.steps.permissions_preflight import check_permissions
from drill.steps.sentinel_preflight import check_sentinel
from drill.steps.skew import FINDING_S, hook_for
from drill.steps.waiting import REFUSED, HostUnreachable, ServiceRefused, call_within, classify

NAME, TITLE = "preflight", "Preflight: endpoints, observer, browser and key are ready"


def _openid_config(ctx: DrillContext) -> dict[str, Any]:
    from drill.auth import msal_session

    url = f"{ctx.cloud.authority_host}/{ctx.playbook.tenant.id}/v2.0/.well-known/openid-configuration"
    sent = datetime.now(UTC)
    resp = msal_session(ctx.cloud.ca_bundle).get(url, timeout=20)
    ctx.skew.observe("identity", resp.headers.get("Date"), sent, datetime.now(UTC))
    if resp.status_code in REFUSED:
        raise ServiceRefused(resp.status_code, resp.text[:300])
    resp.raise_for_status()
    doc: dict[str, Any] = resp.json()
    return doc


class _Deadline:
    """Preflight's SLA shared by its probes: each may wait out throttling for what is left of it."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(1.0, self.end - time.monotonic())


def _failure(exc: BaseException) -> str:
    if isinstance(exc, ServiceRefused):
        return f"refused (HTTP {exc.status}): {exc.message}"
    record = None
    try:
        record = classify(exc)
    except ServiceRefused as refused:
        return f"refused (HTTP {refused.status}): {refused.message}"
    except HostUnreachable as gone:
        return gone.line
    if record is not None:
        status = record.get("status")
        what = f"HTTP {status}" if status else str(record["kind"])
        why = "throttling" if status == 429 else "unavailable" if status else "not answering in time"
        return (
            f"still {what} when preflight's time ran out: the service is {why}; retry later"
            + (", and check the observer's query and request rates" if status == 429 else "")
            + f" ({record['message']})"
        )
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def stop_if_unreachable(exc: BaseException) -> None:
    """After a check recorded its failure: a host that cannot be reached ends preflight's network checks
    (every later one would fail the same way, each with the same line)."""
    try:
        classify(exc)
    except HostUnreachable:
        raise
    except ServiceRefused:
        return


def _note_transients(sb: StepBuilder, key: str, errors: list[dict[str, Any]]) -> None:
    if errors:
        sb.evidence.setdefault("transient_errors", {})[key] = errors[:20]


async def check_observer(ctx: DrillContext, sb: StepBuilder, deadline: _Deadline | None = None) -> None:
    from azure.monitor.query import LogsQueryStatus
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.item.messages.messages_request_builder import MessagesRequestBuilder

    from drill.auth import observer_credential
    from drill.clients import graph_client, graph_scopes, logs_client

    deadline = deadline or _Deadline(float(ctx.playbook.sla.preflight))
    observer = ctx.observer = ctx.observer or observer_credential(ctx.playbook, ctx.cloud)
    workspace = str(ctx.playbook.log_analytics.workspace_id)

    def query() -> Any:
        ctx.counters["logs_queries"] += 1
        client = logs_client(observer, ctx.cloud)
        return client.query_workspace(
            workspace,
            "SigninLogs | take 1 | project TimeGenerated",
            timespan=timedelta(hours=1),
            raw_response_hook=hook_for(ctx.skew, "log analytics"),
        )

    try:
        result, errors = await call_within(lambda: asyncio.to_thread(query), deadline.left())
        _note_transients(sb, "observer_logs", errors)
        ok = result.status == LogsQueryStatus.SUCCESS
        waited = f" (after {len(errors)} transient errors)" if errors else ""
        sb.check(
            "observer_logs",
            "Observer can query the workspace",
            ok,
            ("trivial query succeeded" + waited)
            if ok
            else f"partial result: {getattr(result, 'partial_error', '')}",
            {"workspace": workspace},
        )
    except Exception as exc:  # noqa: BLE001 - any failure here is the finding itself
        sb.check("observer_logs", "Observer can query the workspace", False, _failure(exc))
        stop_if_unreachable(exc)
    alert = ctx.playbook.alert
    if alert is None:  # no mail watch: the observer never reads a mailbox
        return

    async def on_response(response: Any) -> None:
        ctx.skew.observe("graph", response.headers.get("Date"), datetime.now(UTC), datetime.now(UTC))

    try:
        client = graph_client(
            observer, ctx.cloud, graph_scopes(ctx.cloud, (".default",)), on_response=on_response
        )
        cfg = RequestConfiguration(
            query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
                top=SAMPLE, select=["id", "body"]
            )
        )

        async def list_mailbox() -> Any:
            ctx.counters["graph_requests"] += 1
            return await client.users.by_user_id(str(alert.mailbox)).messages.get(request_configuration=cfg)

        resp, errors = await call_within(list_mailbox, deadline.left())
        _note_transients(sb, "observer_mailbox", errors)
        sb.check(
            "observer_mailbox",
            "Observer can list the alert mailbox",
            True,
            f"listed {alert.mailbox}" + (f" (after {len(errors)} transient errors)" if errors else ""),
        )
        messages = list(getattr(resp, "value", None) or [])
        roles = set() if messages else await asyncio.to_thread(_graph_roles, ctx)
        ok, why = body_access((m.body for m in messages), roles)
        sb.check("observer_mail_body", "Observer can read the alert mails' bodies", ok, why)
    except Exception as exc:  # noqa: BLE001
        sb.check("observer_mailbox", "Observer can list the alert mailbox", False, _failure(exc))
        stop_if_unreachable(exc)


def _graph_roles(ctx: DrillContext) -> set[str]:
    """The application roles in the observer's Graph token (an empty mailbox shows no body to look at)."""
    assert ctx.observer is not None
    return token_roles(ctx.observer.get_token(ctx.cloud.graph_default_scope).token)


def record_skew(ctx: DrillContext, sb: StepBuilder) -> None:
    """Fix the offset for the rest of the drill, record it, and raise a finding past five minutes."""
    offset = ctx.skew.freeze()
    ctx.timings.clock_skew_s = offset if ctx.skew.measured else None
    sb.evidence["clock_skew"] = ctx.skew.evidence()
    if not ctx.skew.measured:
        ctx.finding("info", "Clock skew not measured", "no service answered with a Date header", NAME)
    elif abs(offset) > FINDING_S:
        ctx.finding(
            "warning",
            "Workstation clock off the tenant's",
            f"the tenant's clock is {offset:+.0f}s from this workstation's (over {FINDING_S:.0f}s): fix the "
            "workstation's time sync; the drill applied the offset to its query windows and mail filters",
            NAME,
        )


def check_key(ctx: DrillContext, sb: StepBuilder) -> None:
    from drill.keys.errors import KeyCeremonyError

    try:
        ctx.key = ctx.key or ctx.open_key()
        info = ctx.key.describe()
    except KeyCeremonyError as exc:
        sb.check("key_present", "The account's key is present", False, exc.message)
        return
    ctx.key_info = info
    if info.unreadable:
        hidden_key_checks(ctx, sb, info)
        return
    expected = {str(a) for a in ctx.account.key.aaguids}
    sb.check(
        "key_present",
        "The account's key is present",
        True,
        f"{info.model or 'key'} ({info.kind})",
        info.evidence(),
    )
    sb.check(
        "key_aaguid",
        KEY_AAGUID,
        str(info.aaguid) in expected,
        f"AAGUID {info.aaguid}" + ("" if str(info.aaguid) in expected else f" not in {sorted(expected)}"),
    )
    sb.check(
        "key_pin_set",
        "Key has a PIN set",
        info.pin_set,
        "PIN set" if info.pin_set else "no PIN set on the key",
    )
    guard = ctx.account.pin_retry_guard
    retries = info.pin_retries
    sb.check(
        "key_pin_retries",
        f"PIN retries above the guard ({guard})",
        retries is not None and retries > guard,
        f"{retries} PIN retries left" if retries is not None else "PIN retries unknown",
    )


KEY_AAGUID = "Key model (AAGUID) is one the playbook approves"


def hidden_key_checks(ctx: DrillContext, sb: StepBuilder, info: Any) -> None:
    """The Windows WebAuthn path: each detail the OS hides is `not observable`, naming the sign-in check
    that proves it after the ceremony; the PIN retries have no such proof, so that check is optional and
    the operator is told the retry guard is off (here and again before the ceremony)."""
    from drill.keys.inventory import AFTER_CEREMONY

    why = dict(info.unreadable)
    evidence = {"path": info.handle, **info.evidence()}
    sb.not_observable(
        "key_present",
        "The account's key is present",
        "the Windows security dialog picks the key at sign-in",
        AFTER_CEREMONY["present"],
        evidence,
    )
    sb.not_observable("key_aaguid", KEY_AAGUID, why.get("aaguid", "hidden"), AFTER_CEREMONY["aaguid"])
    sb.not_observable(
        "key_pin_set", "Key has a PIN set", why.get("pin_set", "hidden"), AFTER_CEREMONY["pin_set"]
    )
    guard = ctx.account.pin_retry_guard
    sb.not_observable(
        "key_pin_retries",
        f"PIN retries above the guard ({guard})",
        why.get("pin_retries", "hidden")
        + "; the retry guard is off: stop after a wrong PIN and check the key",
        None,
        required=False,
    )
    ctx.finding(
        "warning",
        "PIN retry guard unavailable",
        f"the key is reached through the Windows WebAuthn API ({info.handle}): its PIN retries "
        f"cannot be read, so the guard (more than {guard} left) cannot stop the drill before the key "
        "locks. Run elevated for the HID path, or check the retries on an elevated prompt first",
        NAME,
    )


def check_browser(ctx: DrillContext, sb: StepBuilder) -> None:
    """The playbook's browser (browser.channel / executable), or the one found, answers `--version`."""
    from drill.browser.locate import choose_browser, choose_headless
    from drill.errors import DrillUserError

    browser = ctx.playbook.browser
    override = str(browser.executable) if browser.executable else None
    try:
        headless, _why = choose_headless(browser.headless, ctx.headed)
        choice = choose_browser(browser.channel, override, headless=headless)
        if sys.platform == "win32":
            # Chromium-family browsers on Windows print nothing for `--version` and may open a window:
            # found is what preflight can say; the sign-in records the version the browser reports.
            sb.check(
                "browser",
                f"The browser is available ({choice.name})",
                True,
                str(choice.executable),
                choice.evidence(),
            )
            return
        out = subprocess.run(
            [str(choice.executable), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        version = out.stdout.strip() or out.stderr.strip()
        ctx.browser_version = version
        sb.check(
            "browser",
            f"The browser is available ({choice.name})",
            out.returncode == 0,
            version or f"{choice.name} at {choice.executable}",
            {**choice.evidence(), "path": str(choice.executable), "version": version},
        )
    except (DrillUserError, OSError, subprocess.SubprocessError) as exc:
        sb.check("browser", "The browser is available", False, str(exc))


async def check_endpoints(ctx: DrillContext, sb: StepBuilder, deadline: _Deadline) -> None:
    try:
        doc, errors = await call_within(lambda: asyncio.to_thread(_openid_config, ctx), deadline.left())
        _note_transients(sb, "endpoints", errors)
        sb.check(
            "endpoints",
            "Identity platform answers",
            "authorization_endpoint" in doc,
            "OpenID configuration retrieved",
            {"issuer": doc.get("issuer")},
        )
    except Exception as exc:  # noqa: BLE001
        sb.check("endpoints", "Identity platform answers", False, _failure(exc))
        stop_if_unreachable(exc)


async def run(ctx: DrillContext, *, with_key: bool = True, every_feature: bool = False) -> StepResult:
    sb = StepBuilder(NAME, TITLE)
    deadline = _Deadline(float(ctx.playbook.sla.preflight))
    try:
        await check_endpoints(ctx, sb, deadline)
        await check_permissions(ctx, sb, every_feature=every_feature)
        await check_observer(ctx, sb, deadline)
        record_skew(ctx, sb)
        await check_monitoring(ctx, sb, deadline.left, _failure)
        await check_sentinel(ctx, sb, deadline.left, _failure)
    except HostUnreachable as gone:
        # The check that met it carries the line; the rest were not tried (they need the same hosts).
        sb.evidence["unreachable"] = {"host": gone.where.host, "kind": gone.where.kind,
                                      "reason": gone.line}  # fmt: skip
        if ctx.skew.frozen is None:
            record_skew(ctx, sb)
    check_browser(ctx, sb)
    if with_key:
        await asyncio.to_thread(check_key, ctx, sb)
    return sb.finish("ready: endpoints, observer, browser" + (" and key" if with_key else ""))
