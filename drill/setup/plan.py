"""A setup plan: what was found, every change with its object, permission, scope and the role it needs, the
manual steps, and the playbook; as readable text for a change board and as JSON for `drill setup apply`.

The plan holds no secret: ids, names and scopes only (the admin's token stays in memory, the observer's
key is made by apply). Its `facts` are what apply compares to refuse a tenant that changed since.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drill.errors import DrillUserError
from drill.fsutil import atomic_write
from drill.setup.changes import Change, Manual, plan_changes
from drill.setup.discover import Found, Inputs
from drill.setup.playbook_out import FILL_IN, admin_task_target, playbook_data, query_files
from drill.text import clean_text

PLAN_VERSION = 1
KEY_FILE = "observer-key.pem"


@dataclass
class Plan:
    id: str
    created: str
    admin: dict[str, Any]
    inputs: dict[str, Any]
    facts: dict[str, str]
    changes: list[Change]
    manual: list[Manual]
    by_hand: list[str]
    playbook: dict[str, Any]
    queries: dict[str, str] = field(default_factory=dict)
    owns: list[str] = field(default_factory=list)  # facts the plan's own changes make (drift ignores them)
    unreadable: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"version": PLAN_VERSION, **asdict(self)}

    @classmethod
    def load(cls, path: Path) -> Plan:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DrillUserError(
                f"{path}: not a setup plan ({exc}); make one with `drill setup plan`"
            ) from exc
        if not isinstance(data, dict) or data.pop("version", None) != PLAN_VERSION:
            raise DrillUserError(f"{path}: not a version {PLAN_VERSION} setup plan; make a new one")
        data["changes"] = [Change(**c) for c in data["changes"]]
        data["manual"] = [Manual(**m) for m in data["manual"]]
        return cls(**data)


def _by_hand(inputs: Inputs, found: Found) -> list[str]:
    out = [f"fill in the playbook's {FILL_IN} lines: each key's label, where it is kept, who may use it"]
    if not found.rules and not inputs.monitoring:
        out.append("no alert rule names the accounts: deploy one, or plan again with --monitoring")
    if not found.diagnostic and not inputs.monitoring:
        out.append("Entra's sign-in and audit logs go to no workspace: plan again with --monitoring")
    if admin_task_target(inputs, found) is None:
        out.append(
            "the break-glass group sits in a restricted administrative unit (or none was found): give "
            "--canary-group (an empty security group) to prove the account can act"
        )
    return out


def make_plan(inputs: Inputs, found: Found, cloud: Any, monitoring: list[Change] | None = None) -> Plan:
    """`monitoring`: the --monitoring changes, already planned (they fill `found` with what they make)."""
    facts = found.facts()
    task = admin_task_target(inputs, found) is not None
    changes, manual = plan_changes(inputs, found, task)
    changes += _mark_monitoring(monitoring or [], found)
    owns = [f"alert rule {c.params['name']}" for c in changes if c.id.startswith("monitoring/rule/")]
    owns += [
        f"action group {c.object.split(chr(39))[1]}" for c in changes if c.id == "monitoring/action-group"
    ]
    if any(c.id == "monitoring/diagnostic" for c in changes):
        owns.append("Entra diagnostic setting's workspace")
    return Plan(
        id=str(uuid.uuid4()),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        admin=dict(found.admin),
        inputs={**asdict(inputs), "accounts": list(inputs.accounts)},
        facts=facts,
        changes=changes,
        manual=manual,
        by_hand=_by_hand(inputs, found),
        playbook=playbook_data(inputs, found, cloud, {}, KEY_FILE),
        queries=query_files(found),
        unreadable=list(found.unreadable),
        owns=owns,
    )


def _mark_monitoring(changes: list[Change], found: Found) -> list[Change]:
    from drill.setup.changes import mark

    return mark(changes, found)


def render_text(plan: Plan) -> str:
    """The change-control view: every change with its object, permission, scope and who may make it."""
    t = clean_text
    roles = ", ".join(plan.admin.get("roles") or []) or "no role"
    out = [
        f"drill setup plan {plan.id} for tenant {plan.inputs['tenant_id']} ({plan.created})",
        f"made by {t(plan.admin.get('upn', '?'))}, holding: {roles}"
        + (f"; Azure: {', '.join(plan.admin.get('azure') or [])}" if plan.admin.get("azure") else ""),
        "",
        f"Changes ({len(plan.changes)}):",
    ]
    for i, c in enumerate(plan.changes, 1):
        who = f"NEEDS ANOTHER ADMIN: {c.role}" if c.other_admin else f"needs {c.role}"
        out.append(f"{i:3}. {t(c.action)}: {t(c.object)}")
        out.append(f"     permission: {t(c.permission)} | scope: {t(c.scope)} | {who}")
        out.append(f"     why: {t(c.why)}")
    out += ["", f"By hand, outside these APIs ({len(plan.manual)}):"]
    for m in plan.manual:
        out.append(f"  - {t(m.purpose)} [{t(m.role)}]")
        out += [f"      {t(cmd)}" for cmd in m.commands]
    out += ["", "Also by hand:", *(f"  - {t(x)}" for x in plan.by_hand)]
    if plan.unreadable:
        out += [
            "",
            "Not readable with your roles (the plan may be incomplete there):",
            *(f"  - {t(x)}" for x in plan.unreadable),
        ]
    out += [
        "",
        "What the plan relies on (apply refuses if any of it changed):",
        *(f"  - {t(k)}: {t(v)}" for k, v in sorted(plan.facts.items())),
    ]
    return "\n".join(out) + "\n"


def write_plan(plan: Plan, path: Path) -> tuple[Path, Path]:
    """`path` (JSON, for apply) and `path` with .txt (for people)."""
    text_path = path.with_suffix(".txt")
    atomic_write(path, (json.dumps(plan.to_json(), indent=2) + "\n").encode())
    atomic_write(text_path, render_text(plan).encode())
    return path, text_path
