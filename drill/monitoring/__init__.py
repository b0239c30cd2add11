"""The deployed break-glass monitoring, read from Azure Resource Manager (issue 13)."""

from drill.monitoring.arm import ArmReader, missing_role
from drill.monitoring.deployed import ActionGroup, DeployedRule, DiagnosticSetting, FiredAlert

__all__ = [
    "ActionGroup",
    "ArmReader",
    "DeployedRule",
    "DiagnosticSetting",
    "FiredAlert",
    "missing_role",
]
