"""The break-glass accounts named in a Maester or Zero Trust Assessment config (never guessed).

Maester's `maester-config.json` names them under `GlobalSettings.EmergencyAccessAccounts` as objects with a
`UserPrincipalName` (or an `Id`); a UPN list is accepted too. Only UPNs are taken: an entry with an object id
only is refused with the line to add.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drill.errors import DrillUserError


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
            f"{path}: no GlobalSettings.EmergencyAccessAccounts list; name the accounts with "
            "--account UPN instead"
        )
    out = []
    for i, e in enumerate(entries):
        upn = e if isinstance(e, str) else (e or {}).get("UserPrincipalName")
        if not upn or "@" not in str(upn):
            raise DrillUserError(
                f"{path}: EmergencyAccessAccounts[{i}] has no UserPrincipalName; add "
                '"UserPrincipalName": "<the account\'s UPN>" (setup never guesses)'
            )
        out.append(str(upn))
    return out
