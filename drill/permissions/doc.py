"""docs/PERMISSIONS.md, generated from the registry: `python -m drill.permissions.doc` writes it,
`--check` exits 1 when the page on disk differs (tests/unit/permissions/test_doc.py runs the same check)."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from drill.permissions.fixes import KIND_LABEL, Where, scope_of
from drill.permissions.model import Feature, Grant, Identity
from drill.permissions.registry import REGISTRY

PAGE = Path(__file__).resolve().parents[2] / "docs" / "PERMISSIONS.md"
TITLES = {
    Identity.DRILL_APP: ("Drill app", "delegated: the break-glass account signs in through it"),
    Identity.OBSERVER: ("Observer", "application: reads logs, mail, posture and monitoring; files evidence"),
    Identity.SETUP_ADMIN: ("Setup administrator", "delegated: the administrator running `drill setup`, once"),
}
FEATURES = list(Feature)

HEAD = """# Permissions

Generated from the permissions registry (`drill/permissions/registry.py`, with `granting.md` beside it) by
`python -m drill.permissions.doc`; do not edit by hand (a test fails when this page and the registry differ).

Two identities call Microsoft: the **drill app** (delegated: the break-glass account signs in through it)
and the **observer** (an app, or a managed identity, with application permissions and Azure roles). Grant
only the rows whose features your playbook turns on. `drill preflight`, `drill audit` and `drill schedule`
check every grant their features need before anything else, and print each missing one on one line with
the identity, the permission, its scope and the fix below.

Features: **drill** (sign-in, GA proof, log rows, alert, and the preflight), **admin-task**
(`admin_task.enabled`), **revoke** (`cleanup.revoke_sessions`), **announce** (`announce:`), **audit**
(`drill audit`, the scheduler's daily audit), **watch** (the scheduler's unplanned-use watch), **keyless**
(`schedule.daily_keyless_check`), **scheduler-mail** (the scheduler's reminder mail), **filing**
(`evidence.filing` kind `sharepoint`).
"""


def _table(identity: Identity) -> list[str]:
    where = Where()
    head = ["Permission or role", "Kind", "Scope", *(f.value for f in FEATURES), "Why"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for g in (g for g in REGISTRY if g.identity is identity):
        marks = ["✓" if f in g.features else "" for f in FEATURES]
        name = f"[`{g.permission}`]({g.source})" + (" (optional)" if g.optional else "")
        out.append("| " + " | ".join([name, KIND_LABEL[g.kind], scope_of(g, where), *marks, g.why]) + " |")
    return out


def _calls(g: Grant) -> list[str]:
    wider = ", ".join(g.satisfied_by) or "nothing wider listed"
    out = [f"- `{g.permission}` ({g.id}; also satisfied by: {wider})"]
    for c in g.calls:
        feats = ", ".join(sorted(f.value for f in c.features)) if len(c.features) < len(Feature) else "all"
        out.append(f"  - {c.service.value} `{c.method} {c.template}` ({feats}; least privileged alone: "
                   f"[`{c.least}`]({c.source}))")  # fmt: skip
    out += [f"  - {n}" for n in g.notes]
    return out


def render() -> str:
    lines = [HEAD]
    for identity in Identity:
        title, what = TITLES[identity]
        lines += [f"## {title} permissions", "", f"{what.capitalize()}.", "", *_table(identity), ""]
        lines += ["Calls per grant:", ""]
        for g in (g for g in REGISTRY if g.identity is identity):
            lines += _calls(g)
        lines.append("")
    lines.append(resources.files("drill.permissions").joinpath("granting.md").read_text(encoding="utf-8"))
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != text:
            print(f"{PAGE} is stale: run python -m drill.permissions.doc", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
