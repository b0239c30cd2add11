"""The break-glass accounts named in a Maester or Zero Trust Assessment config (never guessed).

Both use Maester's format: `GlobalSettings.EmergencyAccessAccounts`, each entry `{Type: User,
UserPrincipalName}` or `{Type: User, Id}` (or a bare UPN or object id string); Graph's `/users/{id | upn}`
resolves either. A `Group` entry is refused: which of its members are break-glass accounts would be a guess.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from drill.errors import DrillUserError

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _account(path: Path, i: int, entry: Any) -> str:
    where = f"{path}: EmergencyAccessAccounts[{i}]"
    if isinstance(entry, dict):
        if str(entry.get("Type", "User")).lower() == "group":
            raise DrillUserError(f"{where} is a group; name its break-glass accounts with --account UPN "
                                 "(setup never guesses which members they are)")  # fmt: skip
        entry = entry.get("UserPrincipalName") or entry.get("userPrincipalName") or entry.get("Id")
    value = str(entry or "")
    if "@" in value or _GUID.match(value):
        return value
    raise DrillUserError(f'{where} names no account; add "UserPrincipalName": "<the account\'s UPN>"')


def accounts_from_config(path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DrillUserError(f"{path}: not a readable JSON config ({exc})") from exc
    entries: Any = (
        (data.get("GlobalSettings") or {}).get("EmergencyAccessAccounts") if isinstance(data, dict) else None
    )
    if not isinstance(entries, list) or not entries:
        raise DrillUserError(
            f"{path}: no GlobalSettings.EmergencyAccessAccounts list; name the accounts with --account UPN "
            "instead"
        )
    return [_account(path, i, e) for i, e in enumerate(entries)]
