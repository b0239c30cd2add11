"""Settings of a valid playbook that contradict each other or the tenant they must run against.

`drill playbook check` reports them with the file, line and column of the setting to change and the fix:
errors for combinations that cannot work (a drill that must fail), warnings for what may work but is
probably not meant (a write the recommended design refuses, the template's placeholder ids).

Which permissions a feature needs is not decided here: the caller passes `Needs`, read from the permissions
registry (drill/permissions, a layer above this one), so the check and the registry cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from drill.playbook.model import Playbook
from drill.playbook.yamlpos import Document, Loc, load_yaml


@dataclass(frozen=True)
class Need:
    """Why a permission is needed: the feature in words, and the setting that turns it on (None: the drill
    itself, which no setting turns off)."""

    why: str
    setting: Loc | None = None


@dataclass(frozen=True)
class Needs:
    """What the playbook's features need, from the registry: the drill app's delegated scopes and the
    observer's Graph application permissions on mail, each with why."""

    delegated: dict[str, Need] = field(default_factory=dict)
    observer_mail: dict[str, Need] = field(default_factory=dict)


@dataclass(frozen=True)
class Contradiction:
    severity: Literal["error", "warning"]
    where: str  # file:line:col
    message: str  # what is wrong; the fix

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message}"


def contradictions(pb: Playbook, needs: Callable[[Playbook], Needs]) -> list[Contradiction]:
    """Every contradiction of a loaded playbook, errors first, each at the setting to change."""
    if pb.source is None:
        raise ValueError("contradictions are reported at file:line:col: load the playbook from its file")
    doc = load_yaml(pb.source)  # the positions: the model keeps values, not where they were written
    wanted = needs(pb)
    out = [*_scopes(pb, doc, wanted), *_observer_mail(pb, doc, wanted), *_admin_target(pb, doc)]
    out += _placeholders(doc)
    return sorted(out, key=lambda c: c.severity != "error")


def _present(doc: Document, loc: Loc) -> bool:
    node: Any = doc.data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def _at(doc: Document, *candidates: Loc) -> str:
    """The first candidate setting the file has (its value), else where the document starts."""
    for loc in candidates:
        if _present(doc, loc):
            return doc.where(loc)
    return doc.where(())


def _scopes(pb: Playbook, doc: Document, wanted: Needs) -> Iterator[Contradiction]:
    have = {s.lower() for s in pb.drill_app.scopes}
    given = _present(doc, ("drill_app", "scopes"))
    whose = "drill_app.scopes" if given else "the default drill_app.scopes (drill_app.scopes is not given)"
    for scope, need in wanted.delegated.items():
        if scope.lower() in have:
            continue
        off = f", or set {'.'.join(map(str, need.setting))}: false" if need.setting else ""
        yield Contradiction(
            "error",
            _at(doc, ("drill_app", "scopes"), ("drill_app",), *([need.setting] if need.setting else [])),
            f"{whose} lacks {scope}, which {need.why} needs; add {scope} to drill_app.scopes and grant admin "
            f"consent for it to the drill app (docs/PERMISSIONS.md){off}",
        )


def _observer_mail(pb: Playbook, doc: Document, wanted: Needs) -> Iterator[Contradiction]:
    if pb.observer.kind != "azure-cli" or not wanted.observer_mail:
        return
    perms = ", ".join(f"{p} ({need.why})" for p, need in wanted.observer_mail.items())
    yield Contradiction(
        "error",
        _at(doc, ("observer", "kind")),
        "observer.kind azure-cli signs in as a person through Azure CLI, which cannot hold the Graph "
        f"application permission(s) {perms}; use an app registration or managed identity instead (observer "
        "kind certificate, managed-identity or workload-identity) granted them with admin consent, scoped to "
        "the mailbox with Exchange RBAC for Applications (docs/PERMISSIONS.md)",
    )


def _admin_target(pb: Playbook, doc: Document) -> Iterator[Contradiction]:
    task = pb.admin_task
    if not task.enabled or task.target != "break-glass-group":
        return
    yield Contradiction(
        "warning",
        _at(doc, ("admin_task", "target"), ("admin_task",)),
        "admin_task.target is break-glass-group (the default): the recommended design keeps the break-glass "
        "group in a restricted management administrative unit, where the write is refused even for a Global "
        "Administrator; use target: canary-group with canary_group_id: the object id of an empty group "
        "outside any restricted administrative unit",
    )


# Template placeholders: GUIDs made of runs (aa000000-0000-4000-8000-000000000002, 11111111-2222-4333-...),
# and <...> left by `drill playbook import-maester`.
_GUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
_ANGLE = re.compile(r"<[^<>\n]{1,80}>")


def placeholder(value: str) -> bool:
    """A template placeholder: `<...>`, or a GUID (alone or inside an id path) made of runs."""
    return bool(_ANGLE.search(value)) or any(_made_of_runs(m.group(0)) for m in _GUID.finditer(value))


def _made_of_runs(guid: str) -> bool:
    groups = guid.lower().split("-")
    runs = sum(1 for g in groups[:4] if len(set(g[1:])) == 1)  # the version nibble may differ
    return runs >= 3 or len(set(groups[4][:10])) == 1


def _placeholders(doc: Document) -> Iterator[Contradiction]:
    for loc, value in _strings(doc.data, ()):
        if placeholder(value):
            yield Contradiction(
                "warning",
                doc.where(loc),
                f"{'.'.join(str(p) for p in loc)}: {value} is or holds a template placeholder; replace it "
                "with your tenant's value",
            )


def _strings(node: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _strings(child, (*loc, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _strings(child, (*loc, i))
    elif isinstance(node, str):
        yield loc, node


__all__ = ["Contradiction", "Need", "Needs", "contradictions", "placeholder"]
