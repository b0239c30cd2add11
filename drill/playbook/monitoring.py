"""The playbook's `monitoring:` section: where the break-glass monitoring is deployed in Azure (issue 13).

Preflight reads these objects from Azure Resource Manager before any key is touched, so a rule edited or
disabled in the portal, an action group without the mailbox, or a diagnostic setting pointing elsewhere is
found at once instead of by waiting out the alert SLA. Shapes are checked here (`drill playbook check`);
whether the objects exist is preflight's job.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from pydantic import AfterValidator, Field

from drill.playbook.types import StrictModel

# ARM resource group names: 1-90 of letters, digits, underscore, hyphen, period and parentheses, not ending
# in a period (Azure naming rules for Microsoft.Resources/resourcegroups).
_RG = re.compile(r"^[\w\-.()]{0,89}[\w\-()]$")
# scheduledQueryRules names: what azure-mgmt-monitor accepts (no # < > % & : ? / { } *, 1-260 characters).
_RULE_NAME = re.compile(r"^[^#<>%&:?/{}*]{1,260}$")
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_RULE_ID = re.compile(
    rf"^/subscriptions/(?P<sub>{_GUID})/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Insights"
    r"/scheduledQueryRules/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
_WORKSPACE_ID = re.compile(
    rf"^/subscriptions/{_GUID}/resourceGroups/[^/]+/providers/Microsoft\.OperationalInsights/workspaces/[^/]+$",
    re.IGNORECASE,
)


def _resource_group(value: str) -> str:
    if not _RG.match(value):
        raise ValueError(
            f"{value!r} is not a resource group name (1-90 letters, digits, - _ . ( ), not ending in '.'), "
            "e.g. rg-breakglass-monitoring"
        )
    return value


def _rule_ref(value: str) -> str:
    if value.startswith("/"):
        if not _RULE_ID.match(value):
            raise ValueError(
                f"{value!r} is not a scheduled query rule id: write /subscriptions/<guid>/resourceGroups/<rg>"
                "/providers/Microsoft.Insights/scheduledQueryRules/<name>, or just the rule's name"
            )
        return value
    if not _RULE_NAME.match(value):
        raise ValueError(f"{value!r} is not a rule name (1-260 characters, none of # < > % & : ? / {{ }} *)")
    return value


def _workspace_id(value: str) -> str:
    if not _WORKSPACE_ID.match(value):
        raise ValueError(
            f"{value!r} is not a Log Analytics workspace resource id: write /subscriptions/<guid>/"
            "resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name> (portal: the "
            "workspace's JSON view)"
        )
    return value


ResourceGroupName = Annotated[str, AfterValidator(_resource_group)]
RuleRef = Annotated[str, AfterValidator(_rule_ref)]
WorkspaceResourceId = Annotated[str, AfterValidator(_workspace_id)]


class Monitoring(StrictModel):
    """Azure Resource Manager coordinates of the deployed alert rules, their action groups and workspace."""

    subscription_id: uuid.UUID = Field(description="Subscription holding the alert rules.")
    resource_group: ResourceGroupName = Field(description="Resource group of the alert rules.")
    workspace_resource_id: WorkspaceResourceId = Field(
        description="ARM id of the Log Analytics workspace (log_analytics.workspace_id is its customer id): "
        "the Entra diagnostic setting must send SignInLogs and AuditLogs here."
    )
    rules: list[RuleRef] = Field(
        default_factory=list,
        description="Break-glass alert rules, by name (in resource_group) or full resource id; empty: "
        "alert.rules.",
    )


def rule_coordinates(monitoring: Monitoring, ref: str) -> tuple[str, str, str]:
    """(subscription, resource group, name) of a rule reference, a bare name resolving in the playbook's."""
    match = _RULE_ID.match(ref)
    if match:
        return match["sub"], match["rg"], match["name"]
    return str(monitoring.subscription_id), monitoring.resource_group, ref
