"""Start a playbook from Maester's ``maester-config.json``, where tenants often list break-glass accounts.

Maester keeps them under ``GlobalSettings.EmergencyAccessAccounts``. Its documentation shows objects
``{"UserPrincipalName": ..., "Type": "User"}`` and ``{"Id": <object id>, "Type": "Group"}``; its own tests
also accept bare strings (a UPN or an object id) and a ``DisplayName``. We accept all of those, key names in
any case.

The Zero Trust Assessment reads the same setting in the same shape: `Invoke-ZtAssessment -ConfigurationFile
zt-config.json` takes `GlobalSettings.EmergencyAccessAccounts` ("Maester-style config", entries with Type
User|Group and UserPrincipalName or Id) beside its own top-level parameters (Days, Path, Tests, ...)
(microsoft/zerotrustassessment, src/powershell/public/Invoke-ZtAssessment.ps1 and
src/powershell/private/tests-shared/Get-ZtEmergencyAccessAccounts.ps1 at commit 83a8700). So one reader serves
both files, and the audit's accounts always come from an explicit list, never from guessing.

Groups become the playbook's break-glass group; users become accounts. What Maester does not know
(key AAGUIDs, storage, people, the observer) is left as ``<...>`` placeholders that fail validation until
filled in, so a skeleton can never run by accident.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from drill.errors import DrillUserError
from drill.text import clean_text

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _position(text: str, needle: str) -> str:
    index = text.find(needle)
    if index < 0:
        return "1:1"
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{line}:{col}"


def _get(obj: dict[str, Any], name: str) -> Any:
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return value
    return None


def _entries(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DrillUserError(
            f"{path}: no such file; give the path of maester-config.json or zt-config.json"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DrillUserError(
            f"{path}:1:1: cannot read it as UTF-8 text ({exc}); give maester-config.json or zt-config.json"
        ) from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DrillUserError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); fix the file"
        ) from None
    settings = _get(config, "GlobalSettings") if isinstance(config, dict) else None
    if not isinstance(settings, dict):
        raise DrillUserError(
            f"{path}:1:1: no GlobalSettings object; is this a maester-config.json or a Zero Trust Assessment "
            "zt-config.json? (expected "
            '{"GlobalSettings": {"EmergencyAccessAccounts": [...]}})'
        )
    accounts = _get(settings, "EmergencyAccessAccounts")
    where = f"{path}:{_position(text, 'EmergencyAccessAccounts')}"
    if accounts is None:
        raise DrillUserError(
            f"{where}: GlobalSettings has no EmergencyAccessAccounts; list the accounts there first"
        )
    if not isinstance(accounts, list):
        raise DrillUserError(f"{where}: EmergencyAccessAccounts must be a list of accounts; fix the file")
    if not accounts:
        raise DrillUserError(
            f"{where}: EmergencyAccessAccounts is empty; list the break-glass accounts there first"
        )

    users: list[dict[str, str]] = []
    groups: list[str] = []
    for index, item in enumerate(accounts):
        if isinstance(item, str):
            item = {"Id": item} if _UUID.fullmatch(item.strip()) else {"UserPrincipalName": item}
        if not isinstance(item, dict):
            raise DrillUserError(
                f"{where}: entry {index + 1} is {type(item).__name__}; each entry is a UPN, an object id or "
                '{"UserPrincipalName": ..., "Id": ..., "Type": "User"}'
            )
        kind = str(_get(item, "Type") or "User").strip().lower()
        upn = _get(item, "UserPrincipalName")
        oid = _get(item, "Id")
        name = _get(item, "DisplayName")
        if oid is not None and not (isinstance(oid, str) and _UUID.fullmatch(oid.strip())):
            raise DrillUserError(
                f"{where}: entry {index + 1} has Id {oid!r}, which is not an object id (a UUID)"
            )
        if kind == "group":
            if oid is None:
                raise DrillUserError(
                    f"{where}: entry {index + 1} is a Group without an Id; add the group's object id"
                )
            groups.append(str(uuid.UUID(oid.strip())))
            continue
        if kind != "user":
            raise DrillUserError(
                f"{where}: entry {index + 1} has Type {kind!r}; Maester knows User and Group"
            )
        if upn is None and oid is None:
            raise DrillUserError(f"{where}: entry {index + 1} has neither UserPrincipalName nor Id; add one")
        users.append(
            {
                "upn": str(upn).strip() if upn else "",
                "object_id": str(uuid.UUID(oid.strip())) if oid else "",
                "display": str(name) if name else "",
            }
        )
    return users, groups


def _q(value: str) -> str:
    """A YAML double-quoted scalar: JSON escapes every control and non-ASCII character inside it."""
    return json.dumps(value)


def _comment(value: str) -> str:
    """Text for a `#` comment: one line (YAML also ends a line at NEL, LS and PS), every control character
    shown as a visible escape, so a hostile DisplayName cannot close the comment and become live YAML."""
    return clean_text(value)


def import_maester(path: Path | str) -> str:
    """A playbook skeleton (YAML text) from a maester-config.json's accounts; DrillUserError if unusable."""
    source = Path(path)
    users, groups = _entries(source)
    domains = [u["upn"].split("@", 1)[1] for u in users if "@" in u["upn"]]
    lines = [
        f"# Playbook skeleton imported from {_comment(source.name)} (GlobalSettings.EmergencyAccessAccounts, "
        "the setting Maester and the Zero Trust Assessment share).",
        "# Replace every <...> placeholder, then run `drill playbook check` on this file.",
        "# `drill init DIR` writes a commented example that explains every key.",
        "tenant:",
        "  id: <tenant-id>",
        f"  primary_domain: {_q(domains[0]) if domains else '<tenant>.onmicrosoft.com'}",
        "  cloud: public",
        "accounts:",
    ]
    if not users:
        lines.append("  []  # Maester listed only groups: add the break-glass user accounts here")
    for number, user in enumerate(users, start=1):
        if user["display"]:
            lines.append(f"  # {_comment(user['display'])}")
        lines += [
            f"  - name: bg-{number}",
            f"    upn: {_q(user['upn']) if user['upn'] else '<upn>'}",
            f"    object_id: {user['object_id'] or '<object-id>'}",
            "    key:",
            "      aaguids: [<aaguid-of-the-key-model>]",
            "      label: <label on the key>",
            "      vendor: <vendor>",
            "    storage_location: <where the key is kept>",
            "    authorised_people: [<who may use it>]",
        ]
    lines += [
        "observer:  # reads the alert mail: needs Mail.Read, which azure-cli cannot hold",
        "  kind: managed-identity  # or certificate with client_id and certificate_path",
        "log_analytics:",
        "  workspace_id: <workspace-id>",
        "  alert_query_file: queries/breakglass-alert.kql",
        "alert:",
        "  mailbox: <mailbox the alert mails>",
        '  subject_match: "Emergency Access"',
    ]
    if groups:
        lines += ["conditional_access:", f"  break_glass_group_id: {groups[0]}"]
        lines += [f"  # also listed by Maester: group {g}" for g in groups[1:]]
    return "\n".join(lines) + "\n"
