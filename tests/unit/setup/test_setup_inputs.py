"""The accounts `drill setup` takes from a Maester or Zero Trust Assessment config, and what it refuses (it
never guesses); the seed queries it deploys with --monitoring."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from drill.errors import DrillUserError
from drill.setup.inputs_file import accounts_from_config
from drill.setup.monitoring import seed_query

OID = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"


def test_a_maester_config_names_the_accounts_by_upn_or_id(tmp_path: Path) -> None:
    cfg = tmp_path / "maester-config.json"
    first = {"Type": "User", "UserPrincipalName": "bg1@contoso.onmicrosoft.com"}
    users = [first, "bg2@contoso.onmicrosoft.com", {"Type": "User", "Id": OID}]
    cfg.write_text(json.dumps({"GlobalSettings": {"EmergencyAccessAccounts": users}}))
    assert accounts_from_config(cfg) == ["bg1@contoso.onmicrosoft.com", "bg2@contoso.onmicrosoft.com", OID]


def _accounts(*entries: object) -> dict[str, object]:
    return {"GlobalSettings": {"EmergencyAccessAccounts": list(entries)}}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"GlobalSettings": {}}, "no GlobalSettings.EmergencyAccessAccounts"),
        (_accounts({"Type": "User", "Id": "x"}), "names no account"),
        (_accounts({"Type": "Group", "Id": OID}), "is a group"),
        ("not json", "not a readable JSON config"),
    ],
)
def test_a_config_without_accounts_is_refused_with_the_fix(tmp_path: Path, body: object, says: str) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(body if isinstance(body, str) else json.dumps(body))
    with pytest.raises(DrillUserError, match=says):
        accounts_from_config(cfg)


def test_the_seed_queries_carry_exactly_the_accounts_ids() -> None:
    ids = [OID, "9b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a09"]
    for name in ("signin", "activity"):
        query = seed_query(name, ids)
        assert all(f'"{i}"' in query for i in ids)
        assert "11111111-2222" not in query
    # one-minute rules may not use union (FIDELITY.md): only the five-minute one does
    assert re.search(r"^union ", seed_query("activity", ids), re.MULTILINE)
    assert not re.search(r"^union ", seed_query("signin", ids), re.MULTILINE)
