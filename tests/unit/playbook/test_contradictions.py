"""`drill playbook check` flags each contradiction of the templates (issue 23), at file:line:col with the fix.

Through the real CLI on real files; what each feature needs comes from the permissions registry.
"""

from __future__ import annotations

from pathlib import Path

from cli_support import run_cli
from playbook_support import ALERT_KQL, BASE, MONITORING_SECTION, edit, fill_in, write_filled, write_playbook

from drill.assets import EXAMPLE_PLAYBOOK
from drill.permissions.api import delegated_scopes, features_of
from drill.playbook import load_playbook
from drill.playbook.contradictions import placeholder

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = EXAMPLE_PLAYBOOK


def check(path: Path) -> tuple[int, str]:
    code, _out, err = run_cli("playbook", "check", str(path))
    assert "Traceback" not in err
    return code, err


def test_revoke_sessions_without_its_scope_is_refused(tmp_path: Path) -> None:
    text = edit(ins={25: "  scopes: [User.Read, RoleManagement.Read.Directory, Group.ReadWrite.All]"})
    path = write_filled(tmp_path, text + MONITORING_SECTION)
    code, err = check(path)
    assert code == 2
    assert err.startswith(
        f"error: {path}:26:11: drill_app.scopes lacks User.RevokeSessions.All, which session"
    )
    assert "add User.RevokeSessions.All to drill_app.scopes and grant admin consent" in err
    assert "or set cleanup.revoke_sessions: false" in err


def test_the_admin_task_without_group_write_is_refused(tmp_path: Path) -> None:
    text = edit(ins={25: "  scopes: [User.Read, RoleManagement.Read.Directory, User.RevokeSessions.All]"})
    path = write_filled(tmp_path, text + MONITORING_SECTION)
    code, err = check(path)
    assert code == 2
    assert err.startswith(
        f"error: {path}:26:11: drill_app.scopes lacks Group.ReadWrite.All, which the admin task"
    )
    assert "or set admin_task.enabled: false" in err


def test_the_default_scopes_cover_what_the_default_features_need(tmp_path: Path) -> None:
    """No drill_app at all (the admin task and revocation on by default): the defaults must carry
    Group.ReadWrite.All and User.RevokeSessions.All, exactly what the registry says those features need."""
    path = write_filled(tmp_path, edit(drop={24, 25}) + MONITORING_SECTION)
    code, err = check(path)
    assert code == 0, err
    assert "lacks" not in err
    pb = load_playbook(path)
    assert pb.admin_task.enabled
    assert pb.cleanup.revoke_sessions
    assert sorted(pb.drill_app.scopes) == sorted(delegated_scopes(features_of(pb)))


def test_an_azure_cli_observer_cannot_read_the_alert_mail(tmp_path: Path) -> None:
    path = write_filled(tmp_path, edit(sub={27: "  kind: azure-cli"}) + MONITORING_SECTION)
    code, err = check(path)
    assert code == 2
    assert err.startswith(f"error: {path}:27:9: observer.kind azure-cli ")
    assert "cannot hold the Graph application permission(s) Mail.Read" in err
    assert "observer kind certificate, managed-identity or workload-identity" in err


def test_an_admin_task_on_the_break_glass_group_is_warned(tmp_path: Path) -> None:
    text = fill_in(BASE) + MONITORING_SECTION + "admin_task:\n  target: break-glass-group\n"
    path = write_playbook(tmp_path, text)
    (tmp_path / "alert.kql").write_text(fill_in(ALERT_KQL), encoding="utf-8")
    line = text.splitlines().index("  target: break-glass-group") + 1
    code, err = check(path)
    assert code == 0, err
    assert f"warning: {path}:{line}:11: admin_task.target is break-glass-group" in err
    assert "restricted management administrative unit" in err
    assert "use target: canary-group with canary_group_id" in err
    assert run_cli("playbook", "check", "--strict", str(path))[0] == 1


def test_template_placeholder_ids_are_warned(tmp_path: Path) -> None:
    text = BASE.replace("Break-glass policy", "<your break-glass policy>") + MONITORING_SECTION
    path = write_playbook(tmp_path, text + "admin_task:\n  target: canary-group\n"
                          "  canary_group_id: aa000000-0000-4000-8000-000000000071\n")  # fmt: skip
    code, err = check(path)
    assert code == 0, err
    assert (
        f"warning: {path}:8:16: accounts.0.object_id: 11111111-2222-4333-8444-555555555501 is or holds" in err
    )
    assert f"warning: {path}:19:17: accounts.1.key.aaguids.0: aa000000-0000-4000-8000-000000000002" in err
    assert f"{path}:36:21: conditional_access.expected_policies.0.display_name: <your break-glass" in err
    assert "admin_task.canary_group_id: aa000000-0000-4000-8000-000000000071" in err


def test_real_ids_are_not_placeholders() -> None:
    assert placeholder("aa000000-0000-4000-8000-000000000002")
    assert placeholder("/subscriptions/aa000000-0000-4000-8000-000000000041/resourceGroups/rg")
    for real in ("0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01", "ee882879-721c-4913-9775-3dfcce97072a",
                 "14d82eec-204b-4c2f-b7e8-296a70dab67e", "62e90394-69f5-4237-9190-012177145e10"):  # fmt: skip
        assert not placeholder(real), real


def test_the_example_contradicts_nothing_and_only_its_placeholders_are_warned() -> None:
    code, err = check(EXAMPLE)
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert lines
    assert all("template placeholder" in line for line in lines), lines
    assert "tenant.id: aa000000-0000-4000-8000-000000000001" in err


def test_default_scopes_short_of_a_need_are_named_as_the_defaults(tmp_path: Path) -> None:
    """Were a default feature to need a scope the defaults lack, the check says so at drill_app (or the
    top of the file), naming the defaults: the requirement table is the registry's, injected here."""
    from drill.playbook.contradictions import Need, Needs, contradictions

    path = write_filled(tmp_path, edit(drop={24, 25}) + MONITORING_SECTION)
    wanted = Needs(delegated={"Directory.Read.All": Need("a new feature (x.y: true)", ("x", "y"))})
    found = contradictions(load_playbook(path), lambda _pb: wanted)
    errors = [str(c) for c in found if c.severity == "error"]
    assert errors == [
        f"error: {path}:1:1: the default drill_app.scopes (drill_app.scopes is not given) lacks "
        "Directory.Read.All, which a new feature (x.y: true) needs; add Directory.Read.All to "
        "drill_app.scopes and grant admin consent for it to the drill app (docs/PERMISSIONS.md), or set "
        "x.y: false"
    ]
