"""`drill sim compare-pack`: a fidelity pack against the simulator's shapes, belief by belief.

A pack (drill/fidelity, written by `--fidelity-pack`) holds the shapes a tenant answered. This module
lists every place it differs from a reference pack the simulator produced (a demo drill's), and judges
each declared belief the pack shows: the shape met is the default form ("matches"), another form the
simulator serves ("confirms form X": the first real tenants turn BELIEFs into facts this way), or no form
it serves ("refutes": the simulator, and maybe the product, must learn a new shape).

How a form looks comes from two places. Beliefs whose forms this module knows how to read off a pack
(`STATIC`: the sign-in pages and log rows) carry their signatures here. Every other declared belief is
judged generically: the simulator is run in process once per form (`simulated_documents`: a break-glass
sign-in, the alert it fires, the mail and the ARM JSON), the product's own shape extraction turns those
into a pack (drill/run/demo.py does that: the simulator never imports the product), and the sections
where a belief's forms differ are the sections it touches. A pack item matches a form when it is among
the shapes the simulator produced under that form. Ids are compared as "an id" (each pack hashes them
with its own salt).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

META = ("format", "served")
SECTIONS = ("pages", "arm", "mail", "logs")


@dataclass(frozen=True)
class Finding:
    belief: str
    verdict: str  # "matches" | "confirms" | "refutes" | "not seen"
    form: str | None
    detail: str

    def line(self) -> str:
        if self.verdict == "confirms":
            return f"CONFIRMS form {self.form} of belief {self.belief}: {self.detail}"
        if self.verdict == "refutes":
            return f"REFUTES belief {self.belief}: {self.detail}"
        if self.verdict == "matches":
            return f"matches  belief {self.belief} (default form {self.form})"
        return f"not seen belief {self.belief}: {self.detail}"


# -- reading a pack ------------------------------------------------------------------------------------------
def normalise(value: Any) -> Any:
    """A shape with every hashed id made plain `id` (two packs never share a salt)."""
    if isinstance(value, dict):
        return {("id" if k.startswith("id#") else k): normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str) and value.startswith("id#"):
        return "id"
    return value


def section_items(pack: Mapping[str, Any], section: str) -> dict[str, list[Any]]:
    """A section as named lists of comparable items (pages by pgid/view, ARM by kind, mails, log tables)."""
    value = normalise(pack.get(section) or ({} if section in ("arm", "logs") else []))
    if section == "arm":
        return {f"arm.{kind}": list(shapes) for kind, shapes in value.items()}
    if section == "logs":
        return {f"logs.{table}": [entry] for table, entry in value.items()}
    if section == "mail":
        return {"mail": list(value)}
    return {f"pages.{p.get('pgid')}/{p.get('view')}": [p] for p in value}


def _paths(value: Any, prefix: str) -> dict[str, Any]:
    """Leaf paths of a shape (`a.b[].c` -> type), for a readable list of differences."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(_paths(v, f"{prefix}.{k}"))
        if not value:
            out[prefix] = "{}"
    elif isinstance(value, list):
        if not value:
            out[prefix + "[]"] = "[]"
        for v in value:
            if isinstance(v, str):  # a list of names (labels, ids, columns) is a set: each one is a path
                out[f"{prefix}[{v}]"] = "present"
                continue
            for path, leaf in _paths(v, prefix + "[]").items():
                out.setdefault(path, leaf)
    else:
        out[prefix] = value
    return out


def differences(pack: Mapping[str, Any], reference: Mapping[str, Any]) -> list[str]:
    """Every difference of shape between a pack and the simulator's reference pack, one line each."""
    lines = _mail_differences(normalise(pack.get("mail") or []), normalise(reference.get("mail") or []))
    for section in ("pages", "arm", "logs"):
        ours, theirs = section_items(pack, section), section_items(reference, section)
        for name in sorted(ours.keys() | theirs.keys()):
            if name not in theirs:
                lines.append(f"{name}: in the pack, never met in the simulator")
                continue
            if name not in ours:
                lines.append(f"{name}: served by the simulator, not in the pack")
                continue
            a: dict[str, Any] = {}
            b: dict[str, Any] = {}
            for item in ours[name]:
                a.update(_paths(item, name))
            for item in theirs[name]:
                b.update(_paths(item, name))
            for path in sorted(a.keys() | b.keys()):
                if path not in b:
                    lines.append(f"{path}: {a[path]} in the pack, absent in the simulator")
                elif path not in a:
                    lines.append(f"{path}: absent in the pack, {b[path]} in the simulator")
                elif a[path] != b[path]:
                    lines.append(f"{path}: {a[path]} in the pack, {b[path]} in the simulator")
    return lines


def _mail_differences(ours: list[Any], theirs: list[Any]) -> list[str]:
    """Each mail structure of the pack the simulator never sent, against the simulator's closest one.

    A mail missing from the pack is no difference of shape: a drill notes the mails it met before its own
    arrived, so which of the rules' mails a pack holds depends on timing.
    """
    lines: list[str] = []
    for i, mail in enumerate(ours):
        if mail in theirs:
            continue
        if not theirs:
            lines.append(f"mail[{i}]: the simulator sent no mail to compare with")
            continue
        mine = _paths(mail, f"mail[{i}]")
        closest = min(theirs, key=lambda m: len(set(_paths(m, f"mail[{i}]").items()) ^ set(mine.items())))
        other = _paths(closest, f"mail[{i}]")
        for path in sorted(mine.keys() | other.keys()):
            if mine.get(path) != other.get(path):
                got, want = mine.get(path, "absent"), other.get(path, "absent")
                lines.append(f"{path}: {got} in the pack, {want} in the simulator")
    return lines


# -- beliefs read off a pack directly ------------------------------------------------------------------------
def _kmsi_shown(pack: Mapping[str, Any]) -> Any:
    pages = pack.get("pages") or []
    if not pages:
        return None
    return any(p.get("pgid") == "KmsiInterrupt" for p in pages)


def _row_order(pack: Mapping[str, Any]) -> Any:
    order = str(((pack.get("logs") or {}).get("SigninLogs") or {}).get("order") or "")
    return order if "50140" in order else None


def _upn(pack: Mapping[str, Any]) -> Any:
    return ((pack.get("logs") or {}).get("SigninLogs") or {}).get("user_principal_name")


def _audit_values(pack: Mapping[str, Any]) -> Any:
    return ((pack.get("logs") or {}).get("AuditLogs") or {}).get("modified_values")


# belief -> (what it reads, form -> signature). A signature None from the reader means "not in this pack".
STATIC: dict[str, tuple[Callable[[Mapping[str, Any]], Any], dict[str, Any]]] = {
    "kmsi-prompt": (_kmsi_shown, {"shown": True, "hidden": False}),
    "kmsi-row-offset": (_row_order, {"before": "50140<0", "same-instant": "0=50140", "after": "0<50140"}),
    "signin-row-upn": (_upn, {"object-id": "object-id", "upn": "upn"}),
    "audit-modified-values": (_audit_values, {"json-array": "json-array", "plain": "plain"}),
}


def judge(
    pack: Mapping[str, Any],
    declared: Mapping[str, list[str]],
    per_form: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> list[Finding]:
    """A finding per declared belief. `declared` is belief -> forms (default first); `per_form` is
    belief -> form -> the simulator's pack under that form, for the beliefs STATIC does not know."""
    out: list[Finding] = []
    for belief, forms in declared.items():
        if belief in STATIC:
            read, signatures = STATIC[belief]
            met = read(pack)
            if met is None:
                out.append(Finding(belief, "not seen", None, "the pack does not show this shape"))
                continue
            matching = [f for f in forms if signatures.get(f) == met]
            out.append(_verdict(belief, forms, matching, f"the pack shows {met!r}"))
            continue
        out.append(_judge_generic(belief, forms, pack, per_form.get(belief) or {}))
    return out


def _judge_generic(
    belief: str, forms: list[str], pack: Mapping[str, Any], docs: Mapping[str, Mapping[str, Any]]
) -> Finding:
    if len(docs) < len(forms):
        return Finding(belief, "not seen", None, "the simulator could not produce every form in process")
    touched: set[str] = set()
    for section in SECTIONS:
        per = [section_items(docs[f], section) for f in forms]
        for name in set().union(*per):
            if any(p.get(name) != per[0].get(name) for p in per):
                touched.add(name)
    if not touched:
        return Finding(belief, "not seen", None, "its forms differ in no shape a pack records")
    items = {}
    for section in SECTIONS:
        items.update({k: v for k, v in section_items(pack, section).items() if k in touched})
    if not any(items.values()):
        return Finding(belief, "not seen", None, f"the pack holds none of {sorted(touched)}")
    sims = {f: {n: v for sec in SECTIONS for n, v in section_items(docs[f], sec).items()} for f in forms}
    matching = []
    for f in forms:
        ok = True
        for name, got in items.items():
            varying = _varying_paths(name, [sims[g].get(name, []) for g in forms])
            served = {_project(item, name, varying) for item in sims[f].get(name, [])}
            ok = ok and all(_project(item, name, varying) in served for item in got)
        if ok:
            matching.append(f)
    where = ", ".join(sorted(k for k, v in items.items() if v))
    return _verdict(belief, forms, matching, f"read from {where}")


def _varying_paths(name: str, per_form: list[list[Any]]) -> set[str]:
    """The leaf paths of a section item whose kinds differ between a belief's forms: only these are the
    belief's to judge (another belief may change the same item elsewhere, e.g. the alert instance)."""
    seen: list[dict[str, frozenset[Any]]] = []
    for items in per_form:
        merged: dict[str, set[Any]] = {}
        for item in items:
            for path, leaf in _paths(item, name).items():
                merged.setdefault(path, set()).add(json.dumps(leaf, sort_keys=True))
        seen.append({k: frozenset(v) for k, v in merged.items()})
    paths = set().union(*seen) if seen else set()
    return {p for p in paths if len({s.get(p) for s in seen}) > 1}


def _project(item: Any, name: str, paths: set[str]) -> tuple[tuple[str, str], ...]:
    leaves = _paths(item, name)
    return tuple(sorted((p, json.dumps(leaves.get(p, "absent"), sort_keys=True)) for p in paths))


def _verdict(belief: str, forms: list[str], matching: list[str], detail: str) -> Finding:
    if forms and forms[0] in matching:
        return Finding(belief, "matches", forms[0], detail)
    if matching:
        return Finding(belief, "confirms", matching[0], f"{detail}; the simulator's default is {forms[0]}")
    return Finding(belief, "refutes", None, f"{detail}, which none of its forms ({', '.join(forms)}) serves")


def report(diffs: list[str], findings: list[Finding]) -> list[str]:
    lines = [f"{len(diffs)} difference(s) of shape from the simulator's reference pack:"]
    lines += [f"  {d}" for d in diffs] or ["  (none)"]
    lines.append("beliefs:")
    lines += [f"  {f.line()}" for f in findings] or ["  (no belief declared)"]
    return lines


def _mail_parts(message: Mapping[str, Any]) -> tuple[str, str, str]:
    body = message.get("body") or {}
    return (
        str(message.get("subject") or ""),
        str(body.get("content") or ""),
        str(body.get("contentType") or "html"),
    )


# -- the simulator's own documents under one set of forms ----------------------------------------------------
def simulated_documents(
    tenant_path: Path,
    state_dir: Path,
    variants: Mapping[str, str],
    account_id: str,
    app_id: str,
    mailbox: str,
) -> dict[str, Any]:
    """The simulator's raw answers under `variants`: a break-glass sign-in fires the alert rules; then the
    mails the mailbox got and the ARM JSON (rules, action groups, diagnostic settings, alert instances)."""
    from drill.sim.arm.resources import (
        action_group_resource,
        alert_resources,
        diagnostic_setting_resource,
        rule_resource,
    )
    from drill.sim.beliefs import apply_variant
    from drill.sim.loganalytics.alerts import longest_reach
    from drill.sim.server import SimServer
    from drill.sim.state import SignInEvent
    from drill.sim.tenant import load_tenant

    with SimServer(load_tenant(tenant_path), state_dir) as sim:
        state = sim.state
        for belief_id, form_name in variants.items():
            apply_variant(state, belief_id, form_name)
        user = state.tenant.user(account_id) or {}
        state.emit_signin(
            SignInEvent(
                created=state.clock.now(),
                user_id=account_id,
                user_principal_name=str(user.get("userPrincipalName", "")),
                user_display_name=str(user.get("displayName", "")),
                app_id=app_id,
                app_display_name="",
                result_type="0",
                authentication_details=[
                    {"authenticationMethod": "Passkey (device-bound)", "succeeded": True}
                ],
                correlation_id=str(uuid.uuid4()),
            )
        )
        left = min(longest_reach(state), 3600.0)
        while left > 0 and not (state.mail.messages(mailbox) or []):
            state.clock.advance(30)
            state.tick()
            left -= 30
        state.clock.advance(timedelta(seconds=60).total_seconds())
        state.tick()
        mails = [_mail_parts(m) for m in state.mail.messages(mailbox) or []]
        arm = {
            "scheduledQueryRule": [rule_resource(state, r, "2023-12-01") for r in state.tenant.alertRules],
            "actionGroup": [action_group_resource(state, g) for g in state.tenant.actionGroups],
            "diagnosticSetting": [
                diagnostic_setting_resource(state, s) for s in state.tenant.diagnosticSettings
            ],
            "alertInstance": [alert for alert, _changed in alert_resources(state)],
        }
    return {"mail": mails, "arm": arm}
