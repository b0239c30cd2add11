"""The playbook: one tenant's break-glass design and drill settings, loaded with positions for every error."""

from drill.playbook.advice import playbook_warnings
from drill.playbook.load import custom_cloud_pairings, import_maester, load_playbook, playbook_json_schema
from drill.playbook.model import Account, Alert, CloudName, CustomCloud, CustomEndpoints, Playbook

__all__ = [
    "Account",
    "Alert",
    "CloudName",
    "CustomCloud",
    "CustomEndpoints",
    "Playbook",
    "custom_cloud_pairings",
    "import_maester",
    "load_playbook",
    "playbook_json_schema",
    "playbook_warnings",
]
