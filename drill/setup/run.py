"""Wiring of `drill setup plan` and `drill setup apply`: the cloud, the administrator's sign-in, the files
written (plan JSON and text, the playbook and its queries), the ledger line and the preflight after apply.

Every line printed goes through the secret registry's redaction (a service's error text can quote anything).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from drill.clouds import BUILTIN, Cloud, cloud_for
from drill.errors import DrillUserError
from drill.fsutil import atomic_write
from drill.setup.admin import GRAPH_CLI_APP_ID, OnCode, sign_in
from drill.setup.api import Api
from drill.setup.credential import ensure_key
from drill.setup.discover import Inputs, discover
from drill.setup.monitoring import plan_monitoring
from drill.setup.plan import KEY_FILE, Plan, make_plan, render_text, write_plan
from drill.setup.playbook_out import PENDING, diff, existing_cloud, render


def echo(line: str) -> None:
    from drill.secrets import redact_text

    typer.echo(redact_text(line))


@dataclass(frozen=True)
class SignIn:
    client_id: str = GRAPH_CLI_APP_ID
    method: str = "device-code"
    on_code: OnCode | None = None


def _cloud(playbook: Path, cloud_from: Path | None, cloud_name: str) -> tuple[Cloud, Any]:
    """The cloud to sign in to and its `tenant.cloud` as the playbook will say it."""
    from drill.playbook import load_playbook

    source = cloud_from or (playbook if playbook.exists() else None)
    if source is not None:
        return cloud_for(load_playbook(source)), existing_cloud(source)
    if cloud_name not in BUILTIN:
        raise DrillUserError(
            f"--cloud {cloud_name}: use one of {', '.join(BUILTIN)}, or --cloud-from PLAYBOOK"
        )
    return BUILTIN[cloud_name], cloud_name


def _write_playbook(playbook: Path, data: dict[str, Any], queries: dict[str, str]) -> None:
    text = render(data)
    change = diff(playbook, text)
    echo(change if change else f"{playbook}: unchanged")
    for rel, query in queries.items():
        target = playbook.parent / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, query.encode(), mode=0o644)
    atomic_write(playbook, text.encode(), mode=0o644)


def run_plan(
    inputs: Inputs,
    *,
    playbook: Path,
    plan_path: Path,
    cloud_from: Path | None = None,
    cloud_name: str = "public",
    login: SignIn = SignIn(),
) -> int:
    cloud, raw_cloud = _cloud(playbook, cloud_from, cloud_name)
    session = sign_in(
        cloud, inputs.tenant_id, client_id=login.client_id, method=login.method, on_code=login.on_code
    )
    api = Api(session, cloud)
    try:
        found = discover(api, inputs)
        monitoring = plan_monitoring(api, inputs, found) if inputs.monitoring else []
    finally:
        api.close()
    plan = make_plan(inputs, found, raw_cloud, monitoring)
    ours = {ref: app["appId"] for ref, app in found.apps.items()}
    for ref, key in (("drill-app", "drill_app"), ("observer", "observer")):
        if ref in ours:
            plan.playbook[key]["client_id"] = ours[ref]
    _write_playbook(playbook, plan.playbook, plan.queries)
    json_path, text_path = write_plan(plan, plan_path)
    echo(render_text(plan))
    echo(f"plan: {json_path} (for `drill setup apply`), {text_path} (for people); playbook: {playbook}")
    others = [c for c in plan.changes if c.other_admin]
    if others:
        echo(f"{len(others)} change(s) need another administrator (marked above); apply makes the rest")
    return 0


def run_apply(
    plan_path: Path,
    *,
    playbook: Path,
    login: SignIn = SignIn(),
    preflight: Callable[[Path], int] | None = None,
) -> int:
    from drill.evidence import ledger
    from drill.evidence.signing import Signer
    from drill.playbook import load_playbook
    from drill.setup.apply import apply_plan, ledger_entry

    plan = Plan.load(plan_path)
    if not playbook.exists():
        raise DrillUserError(f"{playbook}: no playbook; `drill setup plan` writes it beside the plan")
    if any(c.id == "observer/certificate" for c in plan.changes):  # the playbook names the key file
        ensure_key(playbook.parent / KEY_FILE, plan.inputs["observer_name"])
    pb = load_playbook(playbook)
    cloud = cloud_for(pb)
    if str(pb.tenant.id) != plan.inputs["tenant_id"]:
        raise DrillUserError(
            f"{playbook} is for tenant {pb.tenant.id}, the plan for {plan.inputs['tenant_id']}"
        )
    session = sign_in(
        cloud, plan.inputs["tenant_id"], client_id=login.client_id, method=login.method, on_code=login.on_code
    )
    api = Api(session, cloud)
    try:
        out, _ = apply_plan(api, plan, playbook.parent, echo)
    finally:
        api.close()
    data = dict(plan.playbook)
    for ref, key in (("drill-app", "drill_app"), ("observer", "observer")):
        data[key] = {**data[key], "client_id": out.objects.get(f"{ref} appId", PENDING)}
    _write_playbook(playbook, data, plan.queries)
    pb = load_playbook(playbook)
    line = ledger.append(
        pb.output_dir / ledger.LEDGER_NAME,
        ledger_entry(plan, out, plan.admin | {"upn": session.upn, "oid": session.oid}),
        Signer.load(pb.signing_key_path()),
    )
    echo(
        f"ledger: setup line {line['seq']} ({pb.output_dir / ledger.LEDGER_NAME}); "
        f"{len(out.made)} made, {len(out.unchanged)} unchanged"
    )
    for left in out.left:
        echo(f"left for another administrator: {left}")
    echo("left to do by hand:")
    fill = {"<observer app id>": out.objects.get("observer appId"),
            "<observer service principal id>": out.objects.get("observer service principal"),
            "<your object id>": session.oid}  # fmt: skip
    for m in plan.manual:
        echo(f"  - {m.purpose} [{m.role}]")
        for cmd in m.commands:
            for placeholder, value in fill.items():
                cmd = cmd.replace(placeholder, value or placeholder)
            echo(f"      {cmd}")
    for item in plan.by_hand:
        echo(f"  - {item}")
    if preflight is None:
        from drill.run.live import run_preflight

        def preflight(p: Path) -> int:
            return run_preflight(p, None)

    echo("preflight self-check:")
    obs = pb.observer
    if obs.kind == "workload-identity" and not (
        obs.token_file_path or os.environ.get("AZURE_FEDERATED_TOKEN_FILE")
    ):
        echo(
            "not run here: the observer signs in with a federated token this workstation does not have; run "
            f"`drill preflight {playbook}` where it does (the CI job)"
        )
        return 1  # not run is not clean
    return preflight(playbook)
