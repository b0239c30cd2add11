"""The example playbook people copy, filled with the demo tenant's ids and endpoints, PASSes a demo drill.

Only what a tenant fills in is replaced (its ids, endpoints, the observer's credential, its query files and
policy names); everything the template decides stays as written: the drill app's scopes, the admin task's
canary target, session revocation, the announcement, the SLA-free structure. A template whose scopes or
settings contradict each other fails here (issue 23).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from drill.assets import DEMO_PLAYBOOK, EXAMPLE_PLAYBOOK
from drill.clouds import cloud_for
from drill.evidence.bundle import BundleWriter
from drill.evidence.signing import Signer
from drill.playbook import load_playbook
from drill.run.demo import build_context, demo_world
from drill.run.loop import execute

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = EXAMPLE_PLAYBOOK
DEMO = DEMO_PLAYBOOK


def fill_example(folder: Path) -> Path:
    """The example with the demo tenant's values where a tenant writes its own, comments kept."""
    yaml = YAML()  # round trip: the example's layout and comments stay
    example = yaml.load(EXAMPLE.read_text(encoding="utf-8"))
    demo = YAML(typ="safe").load(DEMO.read_text(encoding="utf-8"))
    queries = DEMO.parent / "queries"
    example["tenant"] = demo["tenant"]  # the demo tenant's id, domain and the simulator's endpoints
    example["accounts"] = demo["accounts"]  # its accounts' UPNs, object ids and key models
    for key in ("client_id", "redirect_uri"):  # not `scopes`: the template's own are under test
        example["drill_app"][key] = demo["drill_app"][key]
    example["observer"] = demo["observer"]  # the demo observer's credential (the simulator has no IMDS)
    example["log_analytics"]["workspace_id"] = demo["log_analytics"]["workspace_id"]
    example["log_analytics"]["alert_query_file"] = str(queries / "demo-breakglass-signin.kql")
    example["alert"]["mailbox"] = demo["alert"]["mailbox"]
    example["monitoring"] = demo["monitoring"]
    example["conditional_access"] = demo["conditional_access"]  # the demo tenant's policy ids and names
    example["sla"] = demo["sla"]
    example["evidence"]["filing"][0]["path"] = str(folder / "filed")
    example["browser"]["headless"] = True
    example["admin_task"]["canary_group_id"] = demo["admin_task"]["canary_group_id"]
    example["admin_task"]["alert_query_file"] = str(queries / "demo-breakglass-alert.kql")
    path = folder / "tenant.yaml"
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(example, fh)
    return path


def test_the_filled_example_passes_a_demo_drill(tmp_path: Path) -> None:
    filled = fill_example(tmp_path)
    with demo_world(tmp_path / "state") as world:
        world.sim.state.clock.set_scale(10)
        env = {"DRILL_SIM_PORT": str(world.sim.port), "DRILL_SIM_CA": str(world.sim.ca_path)}
        pb = load_playbook(filled, env=env)
        assert pb.drill_app.scopes == load_playbook(EXAMPLE).drill_app.scopes  # the template's, untouched
        assert pb.admin_task.target == "canary-group"
        world.playbook = pb.model_copy(
            update={"sla": pb.sla.model_copy(update={"log_row": 60, "alert": 120})}
        )
        world.playbook._source = pb.source
        world.cloud = cloud_for(world.playbook)
        ctx = build_context(world, "ea01", quiet=True)
        writer = BundleWriter(tmp_path / "reports", Signer.load(state_dir=tmp_path / "signing"), pdf=None)
        code = execute(ctx, writer)
    assert writer.finished is not None
    record: dict[str, Any] = json.loads((writer.finished.path / "report.json").read_text())
    steps = {s["step"]: s for s in record["steps"]}
    assert record["verdict"] == "PASS", (record["reason"], {k: v["reason"] for k, v in steps.items()})
    assert code == 0
    for name in ("preflight", "announce", "signin", "ga_proof", "admin_task", "log_rows", "alert", "cleanup"):
        assert steps[name]["status"] == "pass", (name, steps[name]["reason"])
