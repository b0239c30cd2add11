"""Keyless probes on the observer identity: the default `KeylessProbes` of `drill schedule run`.

They use the product's Graph and Log Analytics clients (`drill.clients`) and the GA decision of the drill's
own GA step (`ga_proof.classify`), so a keyless check and a drill judge the tenant the same way. The drill's
preflight may later offer its own probes; `schedule.ScheduleRuntime.probes_for` takes any implementation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from drill.schedule.keyless import ProbeResult
from drill.schedule.watch import Activity, Coverage, Reading, activity_query, coverage_of

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from drill.clouds import Cloud
    from drill.playbook import Account, Playbook


class ObserverProbes:
    """Each probe makes its own short-lived client: the scheduler calls them once a day."""

    def __init__(self, playbook: Playbook, credential: TokenCredential, cloud: Cloud) -> None:
        self.playbook = playbook
        self.credential = credential
        self.cloud = cloud

    def _query(self, kql: str) -> ProbeResult:
        from azure.monitor.query import LogsQueryStatus

        from drill.clients import logs_client

        workspace = str(self.playbook.log_analytics.workspace_id)
        result = logs_client(self.credential, self.cloud).query_workspace(
            workspace, kql, timespan=timedelta(hours=1)
        )
        ok = result.status == LogsQueryStatus.SUCCESS
        reason = "query ran" if ok else f"partial result: {getattr(result, 'partial_error', '')}"
        return ProbeResult(ok, reason, {"workspace": workspace})

    def coverage(self) -> Coverage:
        """Which tables the watch can read: those whose category an Entra diagnostic setting sends to the
        playbook's workspace (read from ARM, as preflight reads it). Unreadable: said, never guessed."""
        from drill.monitoring.arm import ArmReader, missing_role
        from drill.monitoring.deployed import sending_to

        mon = self.playbook.monitoring
        if mon is None:
            return coverage_of(None, "the playbook has no monitoring: section naming the workspace")
        if not self.cloud.arm_endpoint:
            return coverage_of(None, f"the custom cloud {self.cloud.name} names no arm_endpoint")
        try:
            settings = ArmReader(self.credential, self.cloud, str(mon.subscription_id)).diagnostic_settings()
        except Exception as exc:  # noqa: BLE001 - the reason is reported as a coverage gap
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            return coverage_of(None, f"{reason}; {missing_role('diagnostic settings', '')}")
        ours = sending_to(settings, mon.workspace_resource_id)
        return coverage_of(set().union(*(s.enabled_categories for s in ours)))

    def activity(self, user_ids: Sequence[str], since: datetime, until: datetime) -> Reading:
        """The accounts' rows with TimeGenerated in [since, until] from every covered table (the watch).

        A partial or failed result raises: the watch must not read "no activity" into a query that did
        not complete (fail closed).
        """
        from azure.monitor.query import LogsQueryStatus

        from drill.clients import logs_client
        from drill.isotime import parse_utc

        covered = self.coverage()
        if not covered.read:
            return Reading([], covered)
        workspace = str(self.playbook.log_analytics.workspace_id)
        result = logs_client(self.credential, self.cloud).query_workspace(
            workspace, activity_query(user_ids, covered.read), timespan=(since, until)
        )
        if result.status != LogsQueryStatus.SUCCESS:
            raise RuntimeError(f"the activity query did not complete: {getattr(result, 'partial_error', '')}")
        out = []
        for table in result.tables:
            cols = [c if isinstance(c, str) else c.name for c in table.columns]
            for raw in table.rows:
                row = dict(zip(cols, raw, strict=False))
                at = row.get("TimeGenerated")
                when = at if isinstance(at, datetime) else parse_utc(str(at))
                if not since <= when <= until:
                    continue
                out.append(
                    Activity(
                        source=str(row.get("Source")),
                        row_id=str(row.get("Id")),
                        correlation_id=str(row.get("CorrelationId") or ""),
                        at=when,
                        user_id=str(row.get("UserId")),
                        what=str(row.get("What")),
                    )
                )
        return Reading(out, covered)

    def observer_logs(self) -> ProbeResult:
        return self._query("SigninLogs | take 1 | project TimeGenerated")

    def alert_query(self) -> ProbeResult:
        result = self._query(self.playbook.alert_query())
        reason = "the alert query parsed and ran" if result.ok else result.reason
        return ProbeResult(result.ok, reason, {"file": str(self.playbook.log_analytics.alert_query_file)})

    def _graph(self) -> Any:
        from drill.clients import graph_client, graph_scopes

        return graph_client(self.credential, self.cloud, graph_scopes(self.cloud, (".default",)))

    def observer_mailbox(self) -> ProbeResult:
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.users.item.messages.messages_request_builder import MessagesRequestBuilder

        if self.playbook.alert is None:
            return ProbeResult(
                True, "the playbook declares no alert mailbox (no mail watch): nothing to list"
            )
        mailbox = str(self.playbook.alert.mailbox)
        cfg = RequestConfiguration(
            query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
                top=1, select=["id"]
            )
        )

        async def go() -> None:
            await self._graph().users.by_user_id(mailbox).messages.get(request_configuration=cfg)

        asyncio.run(go())
        return ProbeResult(True, f"listed {mailbox}")

    def account(self, account: Account) -> ProbeResult:
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.role_management.directory.role_assignment_schedule_instances.role_assignment_schedule_instances_request_builder import (  # noqa: E501
            RoleAssignmentScheduleInstancesRequestBuilder as Instances,
        )
        from msgraph.generated.role_management.directory.role_assignments.role_assignments_request_builder import (  # noqa: E501
            RoleAssignmentsRequestBuilder as Assignments,
        )
        from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

        from drill.steps.ga_proof import assignment_dict, classify, classify_assignments, instance_dict
        from drill.steps.waiting import service_message

        user_id = str(account.object_id)
        user_cfg = RequestConfiguration(
            query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                select=["id", "userPrincipalName", "accountEnabled"]
            )
        )
        role_cfg = RequestConfiguration(
            query_parameters=Instances.RoleAssignmentScheduleInstancesRequestBuilderGetQueryParameters(
                filter=f"principalId eq '{user_id}'"
            )
        )

        assign_cfg = RequestConfiguration(
            query_parameters=Assignments.RoleAssignmentsRequestBuilderGetQueryParameters(
                filter=f"principalId eq '{user_id}'"
            )
        )

        async def go() -> tuple[Any, list[dict[str, Any]] | None, list[dict[str, Any]]]:
            """The user, its PIM schedule instances (None without a P2 licence) and, then, its role
            assignments: the same fallback as the drill's GA proof, so no licence is no false FAIL."""
            client = self._graph()
            user = await client.users.by_user_id(user_id).get(request_configuration=user_cfg)
            directory = client.role_management.directory
            try:
                page = await directory.role_assignment_schedule_instances.get(request_configuration=role_cfg)
            except Exception as exc:
                if "AadPremiumLicenseRequired" not in service_message(exc):
                    raise
                found = await directory.role_assignments.get(request_configuration=assign_cfg)
                return user, None, [assignment_dict(a) for a in (found.value or [])] if found else []
            return user, [instance_dict(i) for i in (page.value or [])] if page else [], []

        user, instances, assignments = asyncio.run(go())
        if user is None:
            return ProbeResult(False, f"{account.upn} ({user_id}) not found")
        if not user.account_enabled:
            return ProbeResult(False, f"{account.upn} is disabled")
        if instances is None:
            ok, reason = classify_assignments(assignments, user_id)
            evidence = {"assignments": len(assignments), "api": "roleAssignments (no PIM licence)"}
            reason += " (role-assignments API: no PIM licence)"
            return ProbeResult(ok, f"{account.upn}: {reason}", evidence)
        ok, reason = classify(instances, [], user_id)
        return ProbeResult(ok, f"{account.upn}: {reason}", {"assignments": len(instances)})
