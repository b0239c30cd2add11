"""A small valid playbook with known line numbers, and a way to run the real CLI in-process."""

from __future__ import annotations

from pathlib import Path

BASE_LINES = [
    "tenant:",  # 1
    "  id: 0c5e1f4a-9d2b-4c71-8e36-5a8f0b7d2e91",  # 2
    "  primary_domain: contoso.onmicrosoft.com",  # 3
    "  cloud: public",  # 4
    "accounts:",  # 5
    "  - name: bg-1",  # 6
    "    upn: bg-1@contoso.onmicrosoft.com",  # 7
    "    object_id: 11111111-2222-4333-8444-555555555501",  # 8
    "    key:",  # 9
    "      aaguids: [ee882879-721c-4913-9775-3dfcce97072a]",  # 10
    "      label: BG-1",  # 11
    "      vendor: Yubico",  # 12
    "    storage_location: Safe A",  # 13
    "    authorised_people: [Alice, Bob]",  # 14
    "  - name: bg-2",  # 15
    "    upn: bg-2@contoso.onmicrosoft.com",  # 16
    "    object_id: 11111111-2222-4333-8444-555555555502",  # 17
    "    key:",  # 18
    "      aaguids: [aa000000-0000-4000-8000-000000000002]",  # 19
    "      label: BG-2",  # 20
    "      vendor: Feitian",  # 21
    "    storage_location: Safe B",  # 22
    "    authorised_people: [Carol, Dan]",  # 23
    "drill_app:",  # 24
    "  client_id: 3f0b6e2a-8c41-4d7e-9a15-2b6c8d9e0f13",  # 25
    "observer:",  # 26
    "  kind: managed-identity",  # 27: application permissions (mail); azure-cli cannot hold them
    "log_analytics:",  # 28
    "  workspace_id: 7d3c2b1a-0f9e-4d8c-b7a6-95e4d3c2b1a0",  # 29
    "  alert_query_file: alert.kql",  # 30
    "alert:",  # 31
    "  mailbox: soc@contoso.com",  # 32
    "  subject_match: Emergency Access",  # 33
    "conditional_access:",  # 34
    "  expected_policies:",  # 35
    "    - display_name: Break-glass policy",  # 36
    "schedule:",  # 37
    "  cycle_days: 90",  # 38
    "browser:",  # 39
    "  headless: true",  # 40
    "cleanup:",  # 41
    "  revoke_sessions: true",  # 42
]
BASE = "\n".join(BASE_LINES) + "\n"
# Issue 13: where the alert rules are deployed. BASE stays in today's format (its line numbers are what the
# error tests point at); append this for a playbook that raises no advice.
MONITORING_SECTION = (
    "monitoring:\n"
    "  subscription_id: 5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c01\n"
    "  resource_group: rg-mon\n"
    "  workspace_resource_id: /subscriptions/5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c01/resourceGroups/rg-mon"
    "/providers/Microsoft.OperationalInsights/workspaces/law\n"
    "  rules: [Break-glass sign-in]\n"
)
ALERT_KQL = (
    'let Ids = dynamic(["11111111-2222-4333-8444-555555555501", "11111111-2222-4333-8444-555555555502"]);\n'
    "SigninLogs | where UserId in (Ids)\n"
)


def edit(
    *, sub: dict[int, str] | None = None, ins: dict[int, str] | None = None, drop: set[int] | None = None
) -> str:
    """BASE with line n replaced (sub), text inserted after line n (ins), or lines removed (drop); 1-based."""
    out: list[str] = []
    for number, line in enumerate(BASE_LINES, start=1):
        if drop and number in drop:
            pass
        elif sub and number in sub:
            out.append(sub[number])
        else:
            out.append(line)
        if ins and number in ins:
            out.append(ins[number])
    return "\n".join(out) + "\n"


def write_playbook(folder: Path, text: str | bytes, name: str = "pb.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alert.kql").write_text(ALERT_KQL, encoding="utf-8")
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# BASE as a real tenant would fill it in: no template placeholder ids, and the admin task on a canary group
# (the recommended design refuses writes to the break-glass group). `drill playbook check --strict` passes it.
REAL_IDS = {
    "11111111-2222-4333-8444-555555555501": "4f7d2c1e-8a3b-4c6d-9e0f-1a2b3c4d5e01",
    "11111111-2222-4333-8444-555555555502": "4f7d2c1e-8a3b-4c6d-9e0f-1a2b3c4d5e02",
    "aa000000-0000-4000-8000-000000000002": "cb69481e-8ff7-4039-93ec-0a2729a154a8",
}
CANARY_TASK = "admin_task:\n  target: canary-group\n  canary_group_id: 6d7e8f90-1a2b-4c3d-8e4f-5a6b7c8d9e0f\n"


def fill_in(text: str) -> str:
    for placeholder, real in REAL_IDS.items():
        text = text.replace(placeholder, real)
    return text


def write_filled(folder: Path, text: str) -> Path:
    """`text` (BASE-like) with real-looking ids, its alert query naming them, and a canary admin task."""
    path = write_playbook(folder, fill_in(text) + CANARY_TASK)
    (folder / "alert.kql").write_text(fill_in(ALERT_KQL), encoding="utf-8")
    return path
