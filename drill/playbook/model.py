"""What a drill needs to know about one tenant, as a validated model loaded from YAML.

A playbook is reviewed like code and run rarely, often by someone who did not write it, so it must fail
early and precisely: unknown keys are errors (a misspelt ``revoke_sesions`` would otherwise silently keep the
default), every error points at ``file:line:col`` with the fix, and no secret may be written in it at all
(PINs are typed at the prompt, tokens are obtained by the drill, client secrets come from an environment
variable named here). `playbook_warnings` holds the judgement calls (cadence, account count, key diversity)
that are advice rather than errors.

Paths: files the drill reads (alert query, signing key, certificates, CA bundle) are relative to the
playbook's folder; the output folder (``evidence.output_dir``) is relative to the working directory, like
any CLI output.

Run-time values: inside ``tenant.cloud.custom`` (and only there) ``${DRILL_NAME}`` and
``${DRILL_NAME:-default}`` are replaced from the environment when the playbook loads, so a simulator whose
port is known only at run time can be named (``authority_host: https://login.sim.test:${DRILL_SIM_PORT}``).
Only ``DRILL_*`` names expand (see load.py), and a Microsoft audience may not be paired with another host
unless ``allow_untrusted_endpoints`` says so (see endpoints.py). `load_playbook(path, env=...)`
takes the mapping to expand from, so a caller can pass values without touching ``os.environ``.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    Tag,
    field_validator,
    model_validator,
)

from drill.errors import DrillUserError
from drill.playbook.endpoints import RESERVED_CLOUD_NAMES
from drill.playbook.monitoring import Monitoring
from drill.playbook.sentinel import SentinelWatch
from drill.playbook.types import (
    Domain,
    Email,
    EnvName,
    HttpsUrl,
    ListOfEmails,
    Origin,
    Regex,
    RpId,
    Seconds,
    Slug,
    StrictModel,
    Text,
    check_redirect_uri,
)

# Microsoft Graph Command Line Tools: a public client every tenant has, used when no drill app is named.
GRAPH_CLI_APP_ID = uuid.UUID("14d82eec-204b-4c2f-b7e8-296a70dab67e")


# --- tenant and cloud ---------------------------------------------------------------------------------------
class CloudName(StrEnum):
    public = "public"
    usgov = "usgov"
    china = "china"


class CustomEndpoints(StrictModel):
    """Endpoints of a cloud that is not one of Microsoft's named ones (the simulator is one)."""

    name: Slug = "custom"
    authority_host: HttpsUrl
    graph_endpoint: HttpsUrl
    logs_endpoint: HttpsUrl
    graph_audience: HttpsUrl | None = Field(
        default=None, description="Token audience for Graph scopes; default: graph_endpoint."
    )
    logs_audience: HttpsUrl | None = Field(
        default=None, description="Token audience for Log Analytics; default: logs_endpoint."
    )
    arm_endpoint: HttpsUrl | None = Field(
        default=None, description="Azure Resource Manager endpoint (reads the deployed monitoring)."
    )
    arm_audience: HttpsUrl | None = Field(
        default=None, description="Token audience for Azure Resource Manager; default: arm_endpoint."
    )
    ca_bundle: Path | None = Field(
        default=None, description="PEM file of extra CAs to trust (relative to the playbook)."
    )
    webauthn_related_origins: dict[RpId, list[Origin]] = Field(
        default_factory=dict,
        description="RP ID -> other origins allowed to use it, e.g. {login.microsoft.com: [https://login.microsoftonline.com]}.",
    )
    allow_untrusted_endpoints: StrictBool = Field(
        default=False,
        description="Let Microsoft audiences, scopes or passkey RP IDs go to hosts that are not Microsoft's "
        "(a simulator, a proxy you run). Off by default: with it on, tokens for Microsoft's Graph and Log "
        "Analytics are sent to the hosts above, and every check and report says so.",
    )

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name.lower() in RESERVED_CLOUD_NAMES:
            raise ValueError(
                f"{name!r} is the name of a Microsoft cloud; a custom cloud must not pass for one in the "
                "evidence: pick another name (e.g. simulator, contoso-proxy), or write `cloud: public` "
                "(usgov, china) for Microsoft's own"
            )
        return name


class CustomCloud(StrictModel):
    custom: CustomEndpoints


def _cloud_tag(value: Any) -> str:
    return "cloud-custom" if isinstance(value, dict | CustomCloud) else "cloud-name"


CloudSpec = Annotated[
    Annotated[CloudName, Tag("cloud-name")] | Annotated[CustomCloud, Tag("cloud-custom")],
    Discriminator(_cloud_tag),
]


class Tenant(StrictModel):
    id: uuid.UUID = Field(description="Directory (tenant) id.")
    primary_domain: Domain = Field(description="Primary or initial domain, e.g. contoso.onmicrosoft.com.")
    cloud: CloudSpec = Field(default=CloudName.public, description="public | usgov | china | {custom: {...}}")


# --- accounts -----------------------------------------------------------------------------------------------
class KeySpec(StrictModel):
    """The physical key an account is expected to use: what the drill checks it is holding."""

    aaguids: Annotated[list[uuid.UUID], Field(min_length=1)] = Field(
        description="AAGUID(s) of the expected key model (the FIDO metadata id of make and model)."
    )
    label: Text = Field(description="What is written on the key.")
    vendor: Text = Field(description="Key vendor; keys of different vendors for different accounts.")
    serial: Text | None = Field(default=None, description="Serial number, if the drill should check it.")


class Account(StrictModel):
    name: Slug = Field(description="Short name used on the command line and in reports, e.g. bg-1.")
    upn: Email = Field(description="User principal name (cloud-only, on the initial domain).")
    object_id: uuid.UUID = Field(description="Entra object id: what the logs and the alert match on.")
    key: KeySpec
    storage_location: Text = Field(description="Where the key is kept (safe, envelope number).")
    authorised_people: Annotated[list[Text], Field(min_length=1)] = Field(
        description="Who may take the key out and use the account."
    )
    pin_retry_guard: StrictInt = Field(
        default=3,
        ge=2,
        le=8,
        description="Refuse to try a PIN when the key has this many retries left or fewer.",
    )


# --- the drill's own sign-in --------------------------------------------------------------------------------
_RESERVED_SCOPES = {"openid", "profile", "offline_access"}
# What the default features (admin task on, sessions revoked) need; tests/unit/permissions/test_templates.py
# keeps it equal to the permissions registry's answer (this layer sits below the registry).
DEFAULT_SCOPES = (
    "User.Read",
    "RoleManagement.Read.Directory",
    "Group.ReadWrite.All",
    "User.RevokeSessions.All",
)


class DrillApp(StrictModel):
    client_id: uuid.UUID = GRAPH_CLI_APP_ID
    redirect_uri: Annotated[str, AfterValidator(check_redirect_uri)] = "http://localhost"
    scopes: Annotated[list[Text], Field(min_length=1)] = Field(default_factory=lambda: list(DEFAULT_SCOPES))

    @field_validator("scopes")
    @classmethod
    def _no_reserved(cls, scopes: list[str]) -> list[str]:
        reserved = sorted(_RESERVED_SCOPES.intersection(s.lower() for s in scopes))
        if reserved:
            raise ValueError(
                f"msal adds the OpenID scopes itself and refuses them; remove {', '.join(reserved)}"
            )
        return scopes


# --- the observer (reads logs and mail; never touches the break-glass account) ------------------------------
class AzureCliObserver(StrictModel):
    kind: Literal["azure-cli"]


class CertificateObserver(StrictModel):
    kind: Literal["certificate"]
    client_id: uuid.UUID
    certificate_path: Path = Field(
        description="PEM (or PKCS#12) holding the app's certificate and private key."
    )
    certificate_password_env: EnvName | None = Field(
        default=None, description="Env var holding the file's password."
    )
    send_certificate_chain: StrictBool = False


class ClientSecretEnvObserver(StrictModel):
    kind: Literal["client-secret-env"]
    client_id: uuid.UUID
    client_secret_env: EnvName = Field(description="Name of the environment variable holding the secret.")


class ManagedIdentityObserver(StrictModel):
    kind: Literal["managed-identity"]
    client_id: uuid.UUID | None = Field(
        default=None, description="User-assigned identity; omit for system-assigned."
    )


class WorkloadIdentityObserver(StrictModel):
    kind: Literal["workload-identity"]
    client_id: uuid.UUID
    token_file_path: Path | None = Field(
        default=None, description="Federated token file; default: $AZURE_FEDERATED_TOKEN_FILE."
    )


Observer = Annotated[
    AzureCliObserver
    | CertificateObserver
    | ClientSecretEnvObserver
    | ManagedIdentityObserver
    | WorkloadIdentityObserver,
    Field(discriminator="kind"),
]


# --- logs and alerting --------------------------------------------------------------------------------------
class LogAnalytics(StrictModel):
    workspace_id: uuid.UUID
    alert_query_file: Path = Field(description="KQL of the break-glass alert rule, relative to the playbook.")
    tables: Annotated[list[Text], Field(min_length=1)] = Field(
        default_factory=lambda: ["SigninLogs", "AuditLogs"]
    )


class Alert(StrictModel):
    mailbox: Email = Field(description="Mailbox the alert's action group mails (the observer reads it).")
    subject_match: Regex = Field(description="Regular expression the alert mail's subject must match.")
    sender: Email = Field(
        default="azure-noreply@microsoft.com",
        description="Also accepted as a sender (older playbooks named one); `senders` is the list.",
    )
    senders: list[Email] = Field(
        default_factory=lambda: [
            "azure-noreply@microsoft.com",
            "azureemail-noreply@microsoft.com",
            "alerts-noreply@mail.windowsazure.com",
        ],
        description="Addresses Azure Monitor sends alert mail from (action-groups doc: three of them).",
    )
    rules: list[Text] = Field(
        default_factory=list,
        description="Names of the alert rules whose Fired mail proves the alert (empty: any rule).",
    )
    sentinel_workspace: uuid.UUID | None = Field(
        default=None, description="Replaced by the `sentinel:` section (refused when set)."
    )
    required: StrictBool = Field(default=True, description="The verdict needs this watch (the alert mail).")

    @field_validator("sentinel_workspace")
    @classmethod
    def _moved(cls, value: uuid.UUID | None) -> uuid.UUID | None:
        if value is not None:
            raise ValueError(
                "alert.sentinel_workspace is replaced by the `sentinel:` section "
                "(workspace_resource_id, rule, "
                "require): move it there; `drill playbook check` shows the fields"
            )
        return value


class ExpectedPolicy(StrictModel):
    id: uuid.UUID | None = None
    display_name: Text | None = None
    expect: Literal["applies", "excluded"] = Field(
        default="applies",
        description="Whether this policy should apply to the break-glass sign-in or exclude it.",
    )

    @model_validator(mode="after")
    def _named(self) -> ExpectedPolicy:
        if self.id is None and self.display_name is None:
            raise ValueError(
                "a policy needs an id or a display_name; give one (the id is better: names change)"
            )
        return self


class ConditionalAccess(StrictModel):
    break_glass_group_id: uuid.UUID | None = Field(
        default=None, description="Group holding the break-glass accounts (excluded from the other policies)."
    )
    expected_policies: list[ExpectedPolicy] = Field(default_factory=list)


class Sla(StrictModel):
    """Seconds each wait may take before the step fails."""

    preflight: Seconds = 120
    signin: Seconds = 300
    ga_proof: Seconds = 120
    log_row: Seconds = 1800
    alert: Seconds = 1800
    incident: Seconds = 1800
    cleanup: Seconds = 300


class Schedule(StrictModel):
    cycle_days: StrictInt = Field(
        default=180, ge=1, le=366, description="Days between drills of each account (Microsoft: at most 90)."
    )
    reminder_lead_days: list[Annotated[StrictInt, Field(ge=0, le=365)]] = Field(
        default_factory=lambda: [30, 7, 1]
    )
    ga_ceiling: StrictInt = Field(
        default=4, ge=1, le=100, description="Most Global Administrators the tenant should have."
    )
    daily_keyless_check: StrictBool = True
    practice_months: StrictInt = Field(
        default=12,
        ge=1,
        le=36,
        description="Each authorised person takes part (operator or witness) in a PASS drill this often "
        "(BG.PROC.4, and `drill schedule` reminds).",
    )

    @model_validator(mode="after")
    def _leads_fit(self) -> Schedule:
        too_long = [d for d in self.reminder_lead_days if d >= self.cycle_days]
        if too_long:
            raise ValueError(
                f"reminder_lead_days {too_long} must be shorter than cycle_days ({self.cycle_days}); "
                "shorten the lead days or lengthen the cycle"
            )
        return self


class Contact(StrictModel):
    """Someone the person at the safe calls before (or while) using the account."""

    name: Text = Field(description="Who (a person or a team), as printed on the card.")
    role: Text | None = Field(default=None, description="Why them, e.g. 'Security on-call'.")
    phone: Text | None = Field(default=None, description="A number that answers at any hour.")
    email: Email | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if self.phone is None and self.email is None:
            raise ValueError(
                f"contact {self.name!r} has no phone and no email: add `phone:` (best: a number that "
                "answers at any hour) or `email:`, or the card cannot say how to reach them"
            )
        return self


class Emergency(StrictModel):
    """What the emergency card in each storage location says besides the account itself (`drill card`).

    The design asks each storage location to hold everything needed to use its account, so nobody relies
    on online documentation in an emergency: what the account is for, what it is not for, and whom to
    call. The account, key, storage location and authorised people come from `accounts`.
    """

    use_for: Annotated[list[Text], Field(min_length=1)] = Field(
        description="When the account may be used, e.g. 'No other Global Administrator can sign in'."
    )
    never_for: Annotated[list[Text], Field(min_length=1)] = Field(
        description="What it must never be used for, e.g. 'Day-to-day administration'."
    )
    contacts: Annotated[list[Contact], Field(min_length=1)] = Field(
        description="Whom to call before using the account, in order."
    )
    sign_in_url: HttpsUrl | None = Field(
        default=None,
        description="Where to sign in; default: the cloud's Microsoft Entra admin center "
        "(custom clouds: their authority host).",
    )


class Audit(StrictModel):
    """What the posture audit (`drill audit`) cannot discover by itself."""

    sentinel_rules: list[Text] = Field(
        default_factory=list,
        description="Display names of Microsoft Sentinel analytics rules watching the accounts (BG.AL.5); "
        "empty when Sentinel is not used.",
    )


# --- evidence -----------------------------------------------------------------------------------------------
class FolderFiling(StrictModel):
    kind: Literal["folder"]
    path: Path


class SharePointFiling(StrictModel):
    kind: Literal["sharepoint"]
    site_url: HttpsUrl
    library: Text = "Documents"
    folder: Text = "Break-glass drills"


Filing = Annotated[FolderFiling | SharePointFiling, Field(discriminator="kind")]


class Evidence(StrictModel):
    output_dir: Path = Field(
        default=Path("reports"),
        description="Where drill folders and ledger.jsonl go (relative to the working directory).",
    )
    signing_key: Path | None = Field(
        default=None, description="Ed25519 private key (PEM) signing each manifest."
    )
    filing: list[Filing] = Field(default_factory=list)


class Browser(StrictModel):
    channel: Literal["chromium", "chrome", "msedge"] | None = Field(
        default=None,
        description="Which browser drives the sign-in: Playwright's (or the system's) Chromium, or the "
        "installed Google Chrome or Microsoft Edge (Playwright's channels); default: found automatically "
        "in that order.",
    )
    executable: Path | None = Field(
        default=None, description="A Chromium binary to drive instead (not with channel)."
    )

    @model_validator(mode="after")
    def _one_choice(self) -> Browser:
        if self.channel is not None and self.executable is not None:
            raise ValueError("channel and executable both choose the browser: keep one")
        return self

    headless: StrictBool | None = Field(
        default=None,
        description="Run Chromium without a window; default: a live drill shows it (the operator is at the "
        "key), falling back to headless only where there is no display.",
    )
    locale: Text = Field(default="en-US", description="Browser language (the UI profile's text fallbacks).")
    ui_profile: dict[Slug, Text] = Field(
        default_factory=dict, description="Selector name -> CSS, overriding the built-in sign-in UI profile."
    )


class Announce(StrictModel):
    to: ListOfEmails = Field(description="Who to tell before a drill signs in, so the alert is expected.")


class AdminTask(StrictModel):
    """The harmless, reversible privileged write that proves the account can act, not only read.

    Microsoft's emergency-access guidance asks drills to validate that the accounts "can sign-in and
    perform administrative tasks". Two documented choices, both a marker appended to a group's description
    and removed again: the break-glass group itself (`conditional_access.break_glass_group_id`), or a
    dedicated, empty canary group (`canary_group_id`) for tenants whose break-glass group sits in a
    restricted management administrative unit, where even Global Administrator may not write.
    """

    enabled: StrictBool = Field(default=True, description="Run the admin task step.")
    target: Literal["break-glass-group", "canary-group"] = Field(
        default="break-glass-group", description="Whose description carries the drill marker."
    )
    canary_group_id: uuid.UUID | None = Field(
        default=None, description="The canary group (target canary-group): an empty security group."
    )
    alert_query_file: Path | None = Field(
        default=None,
        description="KQL that must return the write's AuditLogs row (default: the log_analytics one).",
    )

    @model_validator(mode="after")
    def _canary_named(self) -> AdminTask:
        if self.target == "canary-group" and self.canary_group_id is None:
            raise ValueError("target canary-group needs canary_group_id: the object id of an empty group")
        return self


class Cleanup(StrictModel):
    revoke_sessions: StrictBool = Field(
        default=True, description="Revoke the break-glass account's sessions after the drill."
    )


# --- the playbook -------------------------------------------------------------------------------------------
class Playbook(StrictModel):
    """One tenant's drill: who, with which key, watched by what, proven how."""

    schema_version: Literal[1] = 1
    tenant: Tenant
    accounts: Annotated[list[Account], Field(min_length=1)]
    drill_app: DrillApp = Field(default_factory=lambda: DrillApp())
    observer: Observer
    log_analytics: LogAnalytics
    alert: Alert | None = Field(
        default=None, description="The alert mail watch (a log search alert rule's action group mail)."
    )
    sentinel: SentinelWatch | None = Field(
        default=None, description="The Microsoft Sentinel watch (a scheduled analytics rule's incident)."
    )
    monitoring: Monitoring | None = Field(
        default=None, description="Where the alert rules are deployed in Azure (read by preflight)."
    )
    conditional_access: ConditionalAccess = Field(default_factory=lambda: ConditionalAccess())
    sla: Sla = Field(default_factory=lambda: Sla())
    schedule: Schedule = Field(default_factory=lambda: Schedule())
    evidence: Evidence = Field(default_factory=lambda: Evidence())
    browser: Browser = Field(default_factory=lambda: Browser())
    announce: Announce | None = None
    cleanup: Cleanup = Field(default_factory=lambda: Cleanup())
    admin_task: AdminTask = Field(default_factory=lambda: AdminTask())
    audit: Audit = Field(default_factory=lambda: Audit())
    emergency: Emergency | None = Field(
        default=None, description="What the emergency card says besides the account (`drill card`)."
    )

    _source: Path | None = PrivateAttr(None)

    @field_validator("accounts")
    @classmethod
    def _unique_accounts(cls, accounts: list[Account]) -> list[Account]:
        for attr in ("name", "upn", "object_id"):
            seen: set[str] = set()
            for account in accounts:
                value = str(getattr(account, attr)).lower()
                if value in seen:
                    raise ValueError(f"two accounts share {attr} {value!r}; make each account distinct")
                seen.add(value)
        return accounts

    @model_validator(mode="after")
    def _watched(self) -> Playbook:
        watches = [w for w in (self.alert, self.sentinel) if w is not None]
        if not watches:
            raise ValueError(
                "declare how the accounts are watched: `alert:` (the alert mail), `sentinel:` (a Sentinel "
                "analytics rule's incident), or both"
            )
        if not any(w.required for w in watches):
            raise ValueError("no watch is required: set `required: true` on `alert:` or `sentinel:`")
        if self.announce is not None and self.alert is None:
            raise ValueError(
                "announce: mails from the alert mailbox; declare `alert:` with that mailbox "
                "(`required: false` "
                "when the verdict does not need the alert mail)"
            )
        return self

    @property
    def mail_watch(self) -> Alert | None:
        """The alert mail watch when the verdict needs it (None: the drill waits for no mail)."""
        return self.alert if self.alert is not None and self.alert.required else None

    @property
    def source(self) -> Path | None:
        """The file this playbook was loaded from (None when built in code)."""
        return self._source

    @property
    def base_dir(self) -> Path:
        return self._source.parent if self._source is not None else Path.cwd()

    def resolve(self, path: Path) -> Path:
        """An input file named in the playbook, resolved against the playbook's folder."""
        return path if path.is_absolute() else self.base_dir / path

    def signing_key_path(self) -> Path | None:
        """The playbook's evidence signing key file, resolved; None means this workstation's own key."""
        return self.resolve(self.evidence.signing_key) if self.evidence.signing_key else None

    @property
    def alert_query_path(self) -> Path:
        return self.resolve(self.log_analytics.alert_query_file)

    def alert_query(self) -> str:
        return self.alert_query_path.read_text(encoding="utf-8")

    @property
    def output_dir(self) -> Path:
        out = self.evidence.output_dir
        return out if out.is_absolute() else Path.cwd() / out

    def account(self, name: str | None = None) -> Account:
        """The named account, or the first one; DrillUserError naming the choices otherwise."""
        if name is None:
            return self.accounts[0]
        for account in self.accounts:
            if account.name == name:
                return account
        names = ", ".join(a.name for a in self.accounts)
        raise DrillUserError(f"no account named {name!r} in the playbook; choose one of: {names}")
