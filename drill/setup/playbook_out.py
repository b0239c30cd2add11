"""The playbook `drill setup` writes: every id it found filled in, nothing guessed (what only a person knows,
such as where a key is kept, is left as a marked line to fill in), shown as a diff against any existing one.
"""

from __future__ import annotations

import difflib
import io
import re
from pathlib import Path
from typing import Any

from drill.permissions.api import delegated_scopes
from drill.setup.changes import features
from drill.setup.discover import Found, Inputs

FILL_IN = "FILL IN"
PENDING = "00000000-0000-0000-0000-000000000000"  # an app id apply has not made yet


def _slug(upn: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", upn.split("@")[0].lower()).strip("-") or "account"


def query_files(found: Found) -> dict[str, str]:
    """queries/<rule>.kql -> the rule's query, for each rule that names the accounts."""
    return {f"queries/{_slug(r['name'])}.kql": r["query"] for r in found.rules}


def signin_rule(found: Found) -> dict[str, Any] | None:
    """The one-minute rule if there is one (the drill waits for its mail), else the first rule found."""
    return next(
        (r for r in found.rules if r.get("frequency") == "PT1M"), found.rules[0] if found.rules else None
    )


def admin_task_target(inputs: Inputs, found: Found) -> dict[str, Any] | None:
    """Where the admin task writes: the group, or a canary when the group sits in a restricted unit."""
    if inputs.canary_group:
        return {"target": "canary-group", "canary_group_id": inputs.canary_group}
    if found.group and not (found.unit or {}).get("restricted"):
        return {"target": "break-glass-group"}
    return None


def playbook_data(
    inputs: Inputs, found: Found, cloud: Any, apps: dict[str, str], key_path: str
) -> dict[str, Any]:
    task = admin_task_target(inputs, found)
    rule = signin_rule(found)
    files = {r["name"]: f for f, r in zip(query_files(found), found.rules, strict=True)}
    ws = found.workspace or {}
    parts = ws.get("id", "").split("/")
    sub, rg = (parts[2], parts[4]) if len(parts) > 4 else (FILL_IN, FILL_IN)
    data: dict[str, Any] = {
        "schema_version": 1,
        "tenant": {"id": inputs.tenant_id, "primary_domain": found.domain, "cloud": cloud},
        "accounts": [
            {
                "name": _slug(a["upn"]),
                "upn": a["upn"],
                "object_id": a["id"],
                "key": {
                    "aaguids": a["aaguids"],
                    "label": f"{FILL_IN}: what is written on the key",
                    "vendor": ", ".join(a["models"]),
                },
                "storage_location": f"{FILL_IN}: where the key is kept",
                "authorised_people": [f"{FILL_IN}"],
            }
            for a in found.accounts
        ],
        "drill_app": {
            "client_id": apps.get("drill-app", PENDING),
            "redirect_uri": inputs.redirect_uri,
            "scopes": delegated_scopes(features(inputs, task is not None)),
        },
        "observer": {
            "kind": "certificate",
            "client_id": apps.get("observer", PENDING),
            "certificate_path": key_path,
        }
        if not inputs.federated
        else {"kind": "workload-identity", "client_id": apps.get("observer", PENDING)},
        "log_analytics": {
            "workspace_id": ws.get("customerId", PENDING),
            "alert_query_file": files.get((rule or {}).get("name", ""), "queries/signin.kql"),
        },
        "alert": {
            "mailbox": found.mailbox or f"{FILL_IN}@invalid",
            "subject_match": _subject(found),
            "rules": [rule["name"]] if rule else [],
        },
        "monitoring": {
            "subscription_id": sub,
            "resource_group": rg,
            "workspace_resource_id": ws.get("id", FILL_IN),
            "rules": [r["name"] for r in found.rules],
        },
        "conditional_access": {
            "break_glass_group_id": (found.group or {}).get("id"),
            "expected_policies": [
                {"id": p["id"], "display_name": p["displayName"], "expect": p["expect"]}
                for p in found.policies
            ],
        },
        "evidence": {"output_dir": "reports"},
        "admin_task": ({"enabled": True, **task} if task else {"enabled": False}),
    }
    others = [r for r in found.rules if r is not rule]
    if task and others:
        data["admin_task"]["alert_query_file"] = files[others[0]["name"]]
    if inputs.site_url:
        data["evidence"]["filing"] = [
            {
                "kind": "sharepoint",
                "site_url": inputs.site_url,
                "library": "Documents",
                "folder": inputs.folder,
            }
        ]
    return data


def _subject(found: Found) -> str:
    subjects = [r["subject"] for r in found.rules if r.get("subject")]
    return re.escape(subjects[0]) if subjects else "Emergency Access"


def render(data: dict[str, Any]) -> str:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 120
    buf = io.StringIO()
    buf.write("# Written by `drill setup`; lines marked FILL IN are what only a person knows.\n")
    yaml.dump(data, buf)
    return buf.getvalue()


def existing_cloud(path: Path | None) -> Any:
    """The `tenant.cloud` of an existing playbook, kept as written (its ${DRILL_*} references too)."""
    if path is None or not path.exists():
        return "public"
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    return ((doc.get("tenant") or {}).get("cloud")) or "public"


def diff(old_path: Path, new_text: str) -> str:
    old = old_path.read_text(encoding="utf-8") if old_path.exists() else ""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=f"{old_path} (now)" if old else "(no playbook yet)",
        tofile=f"{old_path} (written by setup)",
    )
    return "".join(lines)
