"""Issue 13: the `monitoring:` section's shapes (`drill playbook check`), and today's format still loads."""

from __future__ import annotations

from pathlib import Path

from cli_support import run_cli
from playbook_support import BASE, MONITORING_SECTION, write_filled, write_playbook

SUB = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c01"
RULE_ID = f"/subscriptions/{SUB}/resourceGroups/rg-mon/providers/Microsoft.Insights/scheduledQueryRules/bg"
FIRST = len(BASE.splitlines()) + 1  # the `monitoring:` line when the section is appended


def test_todays_format_loads_with_an_advisory_naming_what_to_add(tmp_path: Path) -> None:
    code, out, err = run_cli("playbook", "check", str(write_playbook(tmp_path, BASE)))
    assert code == 0, err
    text = out + err
    assert "no `monitoring:` section" in text
    assert "subscription_id, resource_group, workspace_resource_id" in text
    assert "Monitoring Reader" in text


def test_a_valid_section_loads_without_the_advisory(tmp_path: Path) -> None:
    section = MONITORING_SECTION.replace("[Break-glass sign-in]", f"[Break-glass sign-in, {RULE_ID}]")
    code, out, err = run_cli("playbook", "check", "--strict", str(write_filled(tmp_path, BASE + section)))
    assert code == 0, out + err
    assert "no `monitoring:` section" not in out + err


def test_bad_shapes_point_at_file_line_and_say_the_fix(tmp_path: Path) -> None:
    section = (
        "monitoring:\n"
        "  subscription_id: not-a-guid\n"
        "  resource_group: 'rg bad.'\n"
        "  workspace_resource_id: /subscriptions/x/workspaces/law\n"
        "  rules: [/subscriptions/x/bad, 'a#b']\n"
    )
    path = write_playbook(tmp_path, BASE + section)
    code, _out, err = run_cli("playbook", "check", str(path))
    assert code == 2
    assert f"{path}:{FIRST + 1}:" in err
    assert f"{path}:{FIRST + 2}:" in err
    assert "e.g. rg-breakglass-monitoring" in err
    assert "Microsoft.OperationalInsights/workspaces" in err
    assert "monitoring.rules[0]" in err
    assert "scheduledQueryRules/<name>" in err
    assert "monitoring.rules[1]" in err
    assert "Traceback" not in err
