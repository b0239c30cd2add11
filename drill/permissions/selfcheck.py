"""The permission self-check: every grant the playbook's features need, judged before any key is touched.

Run by the preflight, `drill audit` and `drill schedule`. Each missing grant is one line naming the
identity, the permission or role, its scope and the exact fix (fixes.py); each present one is recorded with
how it was seen. A grant that could not be read is missing too (fail closed), except that when the
observer cannot read grants at all (no Directory.Read.All) only that one line is printed and its own
token's roles stand in for the Graph application permissions.

Two outcomes are neither present nor missing. A read that was throttled or met a server error (429, 5xx)
proves nothing about the grant: the grant is *unverified*, recorded as such, and the preflight checks that
follow (which wait throttling out within the SLA and fail on a real refusal) prove the access itself. An
*optional* grant (Grant.optional) that is missing is a finding printed with its fix, not a blocker.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drill.permissions.api import required
from drill.permissions.fixes import Where, missing_line
from drill.permissions.model import (
    SCOPE_AADIAM,
    SCOPE_RESOURCE_GROUP,
    Feature,
    Grant,
    Identity,
    Kind,
    Service,
)
from drill.permissions.reads import (
    Granted,
    Probe,
    aadiam_readable,
    arm_roles_at,
    mail_send_allowed,
    mailbox_readable,
    read_graph_grants,
    site_resolves,
    workspace_queryable,
)

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from drill.clouds import Cloud
    from drill.playbook.model import Account, Playbook

SELF = "observer-directory-read-all"  # the grant the self-check reads grants with


@dataclass(frozen=True)
class Verdict:
    grant: Grant
    present: bool
    how: str  # how it was seen (present) or what was seen (missing)
    line: str = ""  # the one line, when missing and worth printing
    unverified: bool = False  # the read was throttled or failed server-side: neither present nor missing

    @property
    def blocks(self) -> bool:
        """Missing for certain, and needed: a failed check."""
        return not self.present and not self.unverified and not self.grant.optional


@dataclass
class SelfCheck:
    verdicts: list[Verdict] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # grant id -> why it was not needed here

    @property
    def ok(self) -> bool:
        return not any(v.blocks for v in self.verdicts)

    @property
    def lines(self) -> list[str]:
        return [v.line for v in self.verdicts if v.blocks and v.line]

    @property
    def findings(self) -> list[Verdict]:
        """Optional grants found missing: said with their fix, never a blocker."""
        return [v for v in self.verdicts if not v.present and not v.unverified and v.grant.optional]

    def missing(self) -> list[Grant]:
        return [v.grant for v in self.verdicts if v.blocks]

    def evidence(self) -> dict[str, Any]:
        return {
            "present": {v.grant.id: v.how for v in self.verdicts if v.present},
            "missing": {v.grant.id: v.how for v in self.verdicts if v.blocks},
            "missing_optional": {v.grant.id: v.how for v in self.findings},
            "unverified": {v.grant.id: v.how for v in self.verdicts if v.unverified},
            "not_needed": dict(self.skipped),
        }


def _arm(grant: Grant) -> bool:
    return any(c.service is Service.ARM for c in grant.calls)


async def check_grants(
    playbook: Playbook,
    cloud: Cloud,
    observer: TokenCredential,
    features: frozenset[Feature],
    account: Account | None = None,
) -> SelfCheck:
    """Judge every grant `features` need; `account` is the break-glass account the drill signs in as."""
    from drill.clients import graph_client, graph_scopes

    where = Where.of(playbook, cloud.authority_host, cloud.graph_audience or cloud.graph_endpoint)
    out = SelfCheck()
    grants: list[Grant] = []
    for g in required(features):
        if _arm(g) and g.scope in (SCOPE_RESOURCE_GROUP, SCOPE_AADIAM) and playbook.monitoring is None:
            out.skipped[g.id] = "no `monitoring:` section: the deployed monitoring is not read"
        else:
            grants.append(g)
    client = graph_client(observer, cloud, graph_scopes(cloud, (".default",)))
    account_id = str((account or playbook.accounts[0]).object_id)
    granted = await read_graph_grants(client, observer, cloud, str(playbook.drill_app.client_id), account_id)
    judge = _Judge(playbook, cloud, observer, client, where, granted)
    for g in grants:
        out.verdicts.append(await judge.verdict(g, account_id))
    return out


class _Judge:
    def __init__(
        self,
        playbook: Playbook,
        cloud: Cloud,
        observer: TokenCredential,
        client: Any,
        where: Where,
        granted: Granted,
    ) -> None:
        self.pb, self.cloud, self.observer, self.client = playbook, cloud, observer, client
        self.where, self.granted = where, granted
        self.self_refused = next(
            (p for k, p in granted.refusals.items() if k in ("graph_sp", "observer_roles") and p.refused),
            None,
        )
        self.transient = next((p for p in granted.refusals.values() if p.transient), None)

    def _missing(self, g: Grant, seen: str, *, quiet: bool = False) -> Verdict:
        return Verdict(g, False, seen, "" if quiet else missing_line(g, self.where, seen))

    @staticmethod
    def _unverified(g: Grant, found: Probe) -> Verdict:
        return Verdict(g, False, f"not checked: {found.seen()} (throttled or a server error; the checks that "
                       "follow prove the access itself)", unverified=True)  # fmt: skip

    async def verdict(self, g: Grant, account_id: str) -> Verdict:
        if g.id == SELF and self.self_refused is not None:
            return self._missing(g, f"reading grants was refused, {self.self_refused.seen()}")
        if g.kind is Kind.DELEGATED:
            return self._delegated(g, account_id)
        if g.kind is Kind.APPLICATION:
            return await self._application(g)
        return await asyncio.to_thread(self._azure, g)

    def _delegated(self, g: Grant, account_id: str) -> Verdict:
        gr = self.granted
        refused = gr.refusals.get("drill_sp") or gr.refusals.get("drill_grants")
        if self.self_refused is not None or (refused is not None and refused.refused):
            # one line says why nothing could be read (Directory.Read.All); do not repeat it per scope
            return self._missing(
                g, "not checked: the observer cannot read the drill app's grants", quiet=True
            )
        if refused is not None and refused.status == 404:
            return self._missing(g, "the drill app has no service principal in the tenant (never consented)")
        if self.transient is not None and gr.drill_scopes is None:
            return self._unverified(g, self.transient)
        if refused is not None or gr.drill_scopes is None:
            return self._missing(
                g, f"could not read the drill app's grants: {refused.seen() if refused else '?'}"
            )
        held = sorted(s for s in gr.drill_scopes if g.accepts(s))
        if not held:
            return self._missing(
                g, "not in the app's admin-consented scopes" if gr.drill_scopes else "the app has no consent"
            )
        if (gr.drill_sp or {}).get("appRoleAssignmentRequired") and account_id not in (gr.assigned or set()):
            return self._missing(
                g,
                "the app requires assignment and the account is not assigned to it; assign it under "
                "Enterprise applications > Users and groups",
            )
        return Verdict(g, True, f"admin-consented ({', '.join(held)})")

    def _app_roles(self) -> tuple[set[str], str]:
        if self.granted.observer_roles is not None:
            return self.granted.observer_roles, "app role assignment"
        return self.granted.token_roles, "the observer's token roles"

    async def _application(self, g: Grant) -> Verdict:
        if self.pb.observer.kind == "azure-cli":
            return self._missing(
                g,
                "an azure-cli observer is a user and cannot hold application permissions: use a certificate, "
                "client secret, managed identity or workload identity observer app",
            )
        roles, source = self._app_roles()
        held = sorted(r for r in roles if g.accepts(r))
        if g.exchange_role:
            return await self._mail(g, held, source)
        if g.site_role:
            return await self._site(g, held, source)
        if held:
            return Verdict(g, True, f"{source}: {', '.join(held)}")
        return self._missing(g, "not consented")

    async def _mail(self, g: Grant, held: list[str], source: str) -> Verdict:
        if held:
            return Verdict(g, True, f"{source}: {', '.join(held)}")
        if self.pb.alert is None:
            return self._missing(g, "not consented (and the playbook names no alert mailbox to probe)")
        mailbox = str(self.pb.alert.mailbox)
        if held:
            return Verdict(g, True, f"{source}: {', '.join(held)}")
        if g.permission == "Mail.Send":
            found: Probe = await mail_send_allowed(self.client, mailbox)
        else:
            found = await mailbox_readable(self.client, mailbox)
        if found.ok:
            return Verdict(
                g, True, f"not consented in Entra; {mailbox} allowed it (Exchange RBAC for Applications)"
            )
        if found.transient:
            return self._unverified(g, found)
        return self._missing(g, f"not consented, and {mailbox} refused it: {found.seen()}")

    async def _site(self, g: Grant, held: list[str], source: str) -> Verdict:
        sites = [str(f.site_url) for f in self.pb.evidence.filing if f.kind == "sharepoint"]
        if not held:
            return self._missing(g, "not consented")
        for url in sites:
            found = await site_resolves(self.client, url)
            if found.transient:
                return self._unverified(g, found)
            if not found.ok:
                return self._missing(g, f"{url} did not resolve for the observer: {found.seen()}")
        return Verdict(g, True, f"{source}: {', '.join(held)}; resolved {', '.join(sites)}")

    def _azure(self, g: Grant) -> Verdict:
        mon = self.pb.monitoring
        if g.scope == SCOPE_AADIAM and mon is not None:
            found = aadiam_readable(self.observer, self.cloud, str(mon.subscription_id))
            return self._arm_verdict(g, found, "read Entra ID's diagnostic settings")
        if g.scope == SCOPE_RESOURCE_GROUP and mon is not None:
            scope = f"/subscriptions/{mon.subscription_id}/resourceGroups/{mon.resource_group}"
            found = arm_roles_at(
                self.observer, self.cloud, str(mon.subscription_id), scope, self.granted.observer_id
            )
            return self._arm_verdict(g, found, f"read role assignments at {scope}")
        found = workspace_queryable(self.observer, self.cloud, str(self.pb.log_analytics.workspace_id))
        return self._arm_verdict(g, found, "queried the workspace")

    def _arm_verdict(self, g: Grant, found: Probe, did: str) -> Verdict:
        if found.ok:
            roles = (
                f" (roles: {', '.join(found.data)})" if isinstance(found.data, list) and found.data else ""
            )
            return Verdict(g, True, f"{did}{roles}")
        if found.transient:
            return self._unverified(g, found)
        return self._missing(
            g, f"refused: {found.seen()}" if found.refused else f"could not check: {found.seen()}"
        )


def identities(check: SelfCheck) -> set[Identity]:
    return {v.grant.identity for v in check.verdicts if not v.present}


def missing_permissions(
    playbook: Playbook, cloud: Cloud, observer: TokenCredential, features: frozenset[Feature]
) -> list[str]:
    """The one-line findings of the self-check, for `drill audit` and the scheduler: empty when every grant
    is present, and also when the check itself cannot run (no observer token, say): then the audit runs and
    fails on that same cause, with its signed record, rather than be skipped."""
    try:
        result = asyncio.run(check_grants(playbook, cloud, observer, features))
    except Exception:  # noqa: BLE001 - not a missing grant: the audit that follows reports the cause
        return []
    if result.ok:
        return []
    return result.lines or ["a grant could not be judged: " + ", ".join(g.id for g in result.missing())]
