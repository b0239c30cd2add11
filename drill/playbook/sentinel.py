"""The playbook's `sentinel:` section: the Microsoft Sentinel watch (issue 24).

The design offers two ways to watch the accounts: a log search alert rule mailing the SOC (`alert:`), and a
Microsoft Sentinel scheduled analytics rule raising incidents (`sentinel:`). A playbook declares either or
both, and marks each `required` (the default); the verdict needs every required watch. Preflight reads the
analytics rule and the workspace's automation rules through Azure Resource Manager before any key is
touched; the `incident` step proves the rule's alert and incident for this very sign-in.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, field_validator, model_validator

from drill.playbook.monitoring import WorkspaceResourceId
from drill.playbook.types import StrictModel

# An analytics rule's resource name is a GUID (the portal makes one); its display name is free text. A full
# resource id names the workspace too, and must then be the watch's workspace (checked in Sentinel).
_RULE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.OperationalInsights/workspaces/[^/]+"
    r"/providers/Microsoft\.SecurityInsights/alertRules/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


def _rule_ref(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("name the analytics rule: its display name, its id (a GUID) or its full resource id")
    if text.startswith("/") and not _RULE_ID.match(text):
        raise ValueError(
            f"{value!r} is not an analytics rule id: write /subscriptions/<guid>/resourceGroups/<rg>/"
            "providers/Microsoft.OperationalInsights/workspaces/<ws>/providers/Microsoft.SecurityInsights/"
            "alertRules/<id>, "
            "the rule's id alone, or its display name"
        )
    return text


AnalyticsRuleRef = Annotated[str, AfterValidator(_rule_ref)]


def rule_name_of(ref: str) -> str:
    """The resource name part of a rule reference (a full id's last segment; the text otherwise)."""
    match = _RULE_ID.match(ref)
    return match["name"] if match else ref


class SentinelCleanup(StrictModel):
    """What the drill may write on the incident it proved. Off by default: the SOC decides. Not built yet:
    turning either on is refused with the manual step."""

    comment: StrictBool = Field(
        default=False, description="Add a comment naming the drill id to the incident."
    )
    close: StrictBool = Field(
        default=False,
        description="Close the incident as a drill (classification Undetermined, the drill id in the "
        "comment).",
    )

    @field_validator("comment", "close")
    @classmethod
    def _not_built(cls, value: bool) -> bool:
        """Accepted and ignored would be a promise broken: refused until the writes exist."""
        if value:
            raise ValueError(
                "the drill does not write to Sentinel incidents yet: remove it or set it to false, and "
                "comment on or close the drill's incident in Sentinel (the report names its number)"
            )
        return value


class SentinelWatch(StrictModel):
    """The Microsoft Sentinel scheduled analytics rule watching the accounts, and what proves it fired."""

    workspace_resource_id: WorkspaceResourceId = Field(
        description="ARM id of the workspace onboarded to Sentinel (log_analytics.workspace_id is its "
        "customer id)."
    )
    rule: AnalyticsRuleRef = Field(
        description="The analytics rule: its display name, its id (a GUID), or its full resource id."
    )
    require: Literal["incident", "alert"] = Field(
        default="incident",
        description="incident: the rule's alert must be grouped into an open incident; alert: the alert "
        "suffices.",
    )
    required: StrictBool = Field(default=True, description="The verdict needs this watch.")
    defender_onboarded: StrictBool = Field(
        default=False,
        description="The workspace is onboarded to the Microsoft Defender portal: the incident step also "
        "reads the incident through Microsoft Graph's /security/incidents (the observer needs "
        "SecurityIncident.Read.All) and the verdict needs it open there.",
    )
    cleanup: SentinelCleanup = Field(default_factory=lambda: SentinelCleanup())

    @model_validator(mode="after")
    def _defender_needs_an_incident(self) -> SentinelWatch:
        """The Defender portal serves incidents: with only an alert required, there is nothing to read."""
        if self.defender_onboarded and self.require == "alert":
            raise ValueError(
                "defender_onboarded: true reads the incident in the Defender portal, but require: alert asks "
                "for no incident: set require: incident, or defender_onboarded: false"
            )
        return self
