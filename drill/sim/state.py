"""What the running simulator knows: the tenant, the clock, active faults, and the events it produced.

Services never call each other directly; identity emits sign-in and audit events here, Log Analytics and
Graph's /auditLogs read them, alerts deliver mail through the mail store. That keeps each service module
testable alone and the flow of evidence the same shape as in Microsoft's cloud.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from drill.sim.clock import SimClock
from drill.sim.mail.store import MailStore
from drill.sim.tenant import Tenant

# Host names the browser sees, mapped to loopback by Chromium's host-resolver rules. Two registrable
# domains on purpose: Entra's sign-in page (login.microsoftonline.com) and its WebAuthn RP ID
# (login.microsoft.com) are different sites, and the product must meet that split here too.
LOGIN_HOST = "login.microsoftonline.test"
FIDO_HOST = "login.microsoft.test"
BROWSER_HOSTS = (LOGIN_HOST, FIDO_HOST)


@dataclass
class SignInEvent:
    """One sign-in attempt as Entra records it; Log Analytics and Graph render it in their own shapes."""

    created: datetime
    user_id: str
    user_principal_name: str
    user_display_name: str
    app_id: str
    app_display_name: str
    result_type: str  # "0" on success, else the AADSTS number as a string
    result_description: str = ""
    resource_id: str = "00000003-0000-0000-c000-000000000000"
    resource_display_name: str = "Microsoft Graph"
    ip_address: str = "127.0.0.1"
    user_agent: str = ""
    client_app_used: str = "Browser"
    is_interactive: bool = True
    conditional_access_status: str = "notApplied"  # success | failure | notApplied
    # items {id, displayName, result, enforcedGrantControls, enforcedSessionControls,
    #        conditionsSatisfied, conditionsNotSatisfied} with results as Graph's enum strings
    applied_policies: list[dict[str, Any]] = field(default_factory=list)
    authentication_requirement: str = "multiFactorAuthentication"
    # items {authenticationStepDateTime, authenticationMethod, authenticationMethodDetail, succeeded,
    #        authenticationStepResultDetail, authenticationStepRequirement}
    authentication_details: list[dict[str, Any]] = field(default_factory=list)
    authentication_methods_used: list[str] = field(default_factory=list)
    authentication_strength: dict[str, Any] | None = None
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class AuditEvent:
    """One directory change as Entra audits it (role membership, group membership, policy updates)."""

    created: datetime
    category: str
    operation_name: str
    result: str = "success"
    result_reason: str = ""
    logged_by_service: str = "Core Directory"
    initiated_by: dict[str, Any] = field(default_factory=dict)
    target_resources: list[dict[str, Any]] = field(default_factory=list)
    additional_details: list[dict[str, Any]] = field(default_factory=list)
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    id: str = ""


Listener = Callable[[Any], None]


@dataclass
class SimState:
    tenant: Tenant
    clock: SimClock
    state_dir: Path
    mail: MailStore = field(default_factory=MailStore)
    # name -> parameters of the active fault scenarios; services consult this at request time
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    signins: list[SignInEvent] = field(default_factory=list)
    audits: list[AuditEvent] = field(default_factory=list)
    signin_listeners: list[Listener] = field(default_factory=list)
    audit_listeners: list[Listener] = field(default_factory=list)
    # called about every 200 ms of real time by the server (alert evaluation and the like)
    tickers: list[Callable[[], None]] = field(default_factory=list)
    # per-service private state, keyed by module name ("identity", "loganalytics", ...)
    services: dict[str, Any] = field(default_factory=dict)
    # the public base URL Python clients use, e.g. https://127.0.0.1:PORT (set by the server)
    base_url: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Set when the server stops: background work (an alert engine catching up hours of evaluations after
    # the clock jumped) ends at its next step instead of running on into interpreter shutdown.
    stopping: threading.Event = field(default_factory=threading.Event)

    def fault(self, name: str) -> dict[str, Any] | None:
        return self.faults.get(name)

    def emit_signin(self, event: SignInEvent) -> None:
        with self.lock:
            self.signins.append(event)
            listeners = list(self.signin_listeners)
        for fn in listeners:
            fn(event)

    def emit_audit(self, event: AuditEvent) -> None:
        if not event.id:
            suffix = uuid.uuid4().hex[:5].upper()
            event.id = f"Directory_{event.correlation_id}_{suffix}_{uuid.uuid4().int % 10**9}"
        with self.lock:
            self.audits.append(event)
            listeners = list(self.audit_listeners)
        for fn in listeners:
            fn(event)

    def tick(self) -> None:
        for fn in list(self.tickers):
            fn()


@dataclass(frozen=True)
class Fault:
    """A named scenario that breaks exactly one link of the chain the drill proves."""

    name: str
    link: str  # which link breaks: sign-in, role, logs, alert, mail, graph, token, ...
    summary: str  # one line for `drill sim faults`
    apply: Callable[[SimState], None]


def token_service(state: SimState) -> Any:
    """The run's TokenService (drill.sim.tokens), created on first use so every service shares one key."""
    from drill.sim.tokens import TokenService

    with state.lock:
        svc = state.services.get("tokens")
        if svc is None:
            # The issuer names the authority host Python clients use; identity serves OIDC metadata there.
            svc = TokenService(tenant_id=state.tenant.id, issuer=f"{state.base_url}/{state.tenant.id}/v2.0")
            state.services["tokens"] = svc
        return svc
