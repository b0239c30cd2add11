"""The entities of a Sentinel alert, from the analytics rule's result rows (legacy custom-entity columns or
the rule's entity mappings), in the shape SecurityAlert's `Entities` JSON carries (belief
`sentinel-account-entity` for an account mapped by FullName).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from drill.sim.beliefs import form
from drill.sim.state import SimState

_LEGACY = {"AccountCustomEntity": ("Account", "FullName"), "IPCustomEntity": ("IP", "Address"),
           "HostCustomEntity": ("Host", "FullName")}  # fmt: skip


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def entities_of(state: SimState, rule: dict[str, Any], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The alert's entities from its result rows: legacy custom-entity columns, or the rule's mappings."""
    mappings: list[tuple[str, str, str]] = []  # (entity type, identifier, column)
    for mapping in rule.get("entityMappings") or []:
        for fm in mapping.get("fieldMappings") or []:
            mappings.append((str(mapping["entityType"]), str(fm["identifier"]), str(fm["columnName"])))
    if not mappings:
        mappings = [(kind, ident, col) for col, (kind, ident) in _LEGACY.items()]
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for record in results:
        for kind, ident, column in mappings:
            value = record.get(column)
            if value in (None, ""):
                continue
            entity = _entity(state, kind, ident, str(value))
            key = entity_key(entity)
            if key not in seen:
                seen.add(key)
                out.append({"$id": str(len(out) + 2), **entity})
    return out


def _entity(state: SimState, kind: str, identifier: str, value: str) -> dict[str, Any]:
    if kind == "Account" and identifier == "FullName":
        if form(state, "sentinel-account-entity") == "name-upnsuffix":
            name, at, suffix = value.partition("@")
            return (
                {"Name": name, "UPNSuffix": suffix, "Type": "account"}
                if at
                else {"Name": value, "Type": "account"}
            )
        return {"FullName": value, "Type": "account"}
    return {identifier: value, "Type": kind.lower()}


def entity_key(entity: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in entity.items() if k != "$id"}, sort_keys=True)


def compromised(entities: list[dict[str, Any]]) -> str:
    for e in entities:
        if e.get("Type") == "account":
            if e.get("UPNSuffix"):
                return f"{e['Name']}@{e['UPNSuffix']}"
            return str(e.get("FullName") or e.get("Name") or e.get("AadUserId") or "")
    return ""
