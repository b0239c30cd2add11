"""Helpers for the ARM surface tests: an observer token for the ARM audience, and a shape comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

EXAMPLES = Path(__file__).parent / "examples"
SUB = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c01"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-breakglass-monitoring"


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def arm_token(http: requests.Session, base_url: str, tenant_id: str, client_id: str, secret: str) -> str:
    """A client-credentials token for https://management.azure.com, from the simulator's token endpoint."""
    resp = http.post(
        f"{base_url}/{tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "https://management.azure.com/.default",
        },
        timeout=10,
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def shape_mismatches(doc: Any, ours: Any, extra: frozenset[str] = frozenset(), path: str = "") -> list[str]:
    """Where `ours` has a key the documented example lacks (unless listed in `extra`) or another JSON type.

    Lists compare each of our items with the example's first item; an empty example list or object
    (a map of free keys, such as tags) accepts anything of the same type.
    """
    out: list[str] = []
    if doc is None or ours is None:
        return out
    if _kind(doc) != _kind(ours):
        return [f"{path or '.'}: documented {_kind(doc)}, ours {_kind(ours)}"]
    if isinstance(doc, dict) and doc:
        for key, value in ours.items():
            where = f"{path}.{key}" if path else key
            if key not in doc:
                if where not in extra:
                    out.append(f"{where}: not in the documented example")
                continue
            out.extend(shape_mismatches(doc[key], value, extra, where))
    if isinstance(doc, list) and doc:
        for item in ours:
            out.extend(shape_mismatches(doc[0], item, extra, f"{path}[]"))
    return out


OBSERVER = "6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02"  # the demo tenant's observer app


def observer_credential(sim: Any, secret: str, tenant_id: str) -> Any:
    """The observer's client-secret credential against the simulator's authority and CA."""
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential(
        tenant_id,
        OBSERVER,
        secret,
        authority=sim.base_url,
        connection_verify=str(sim.ca_path),
        disable_instance_discovery=True,
    )
