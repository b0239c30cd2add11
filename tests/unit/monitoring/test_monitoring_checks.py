"""The preflight verdicts over deployed monitoring (drill/monitoring/checks.py), on plain data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from drill.monitoring import checks
from drill.monitoring.deployed import ActionGroup, DeployedRule, DiagnosticSetting, EmailReceiver, FiredAlert

WS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"
AG = "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/actionGroups/ag"
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def rule(**kw: object) -> DeployedRule:
    base: dict[str, object] = {
        "id": "/subscriptions/s/resourcegroups/rg/providers/microsoft.insights/scheduledqueryrules/bg",
        "name": "bg", "enabled": True, "query": "SigninLogs", "evaluation_frequency": timedelta(minutes=1),
        "window_size": timedelta(minutes=5), "operator": "GreaterThan", "threshold": 0.0,
        "time_aggregation": "Count", "mute_actions_duration": None, "auto_mitigate": False,
        "action_group_ids": (AG,), "scopes": (WS,),
    }  # fmt: skip
    base.update(kw)
    return DeployedRule(**base)  # type: ignore[arg-type]


def group(*receivers: EmailReceiver, enabled: bool = True) -> dict[str, ActionGroup | None]:
    return {AG: ActionGroup(AG, "ag", enabled, receivers)}


def test_diagnostic_setting_to_another_workspace_names_where_it_sends() -> None:
    other = DiagnosticSetting("entra", WS.replace("law", "law-it"), frozenset({"SignInLogs", "AuditLogs"}))
    verdict = checks.diagnostic_setting([other], WS)
    assert not verdict.ok
    assert "law-it" in verdict.reason
    assert WS in verdict.reason
    ok = checks.diagnostic_setting(
        [DiagnosticSetting("e", WS.upper(), frozenset({"SignInLogs", "AuditLogs"}))], WS
    )
    assert ok.ok
    partial = checks.diagnostic_setting([DiagnosticSetting("e", WS, frozenset({"AuditLogs"}))], WS)
    assert not partial.ok
    assert "SignInLogs" in partial.reason
    assert not checks.diagnostic_setting([], WS).ok


def test_rule_existence_and_state() -> None:
    assert not checks.rule_enabled("bg", "/x", None).ok
    disabled = checks.rule_enabled("bg", "/x", rule(enabled=False))
    assert not disabled.ok
    assert "is disabled: enable it" in disabled.reason


def test_rule_must_query_the_playbooks_workspace() -> None:
    assert checks.rule_scope("bg", rule(), WS.upper()).ok
    other = checks.rule_scope("bg", rule(scopes=(WS + "-it",)), WS)
    assert not other.ok
    assert "law-it" in other.reason


def test_cadence_and_threshold() -> None:
    assert checks.rule_cadence("bg", rule()).ok
    five = checks.rule_cadence("bg", rule(evaluation_frequency=timedelta(minutes=5)))
    assert five.ok
    assert "1 minute is recommended" in five.reason
    slow = checks.rule_cadence("bg", rule(evaluation_frequency=timedelta(hours=24)))
    assert not slow.ok
    assert "1440 minutes" in slow.reason
    assert not checks.rule_cadence("bg", rule(threshold=2.0)).ok
    assert not checks.rule_cadence("bg", rule(operator="LessThan")).ok


def test_notification_path() -> None:
    good = EmailReceiver("SOC", "soc@contoso.com", "Enabled")
    assert checks.rule_notifies("bg", rule(), group(good), "SOC@contoso.com").ok
    muted = checks.rule_notifies(
        "bg", rule(mute_actions_duration=timedelta(days=1)), group(good), "soc@contoso.com"
    )
    assert not muted.ok
    assert "Mute actions" in muted.reason
    none = checks.rule_notifies("bg", rule(), group(), "soc@contoso.com")
    assert not none.ok
    assert "no email receiver for soc@contoso.com" in none.reason
    off = checks.rule_notifies("bg", rule(), group(EmailReceiver("SOC", "soc@contoso.com", "Disabled")),
                               "soc@contoso.com")  # fmt: skip
    assert not off.ok
    assert "not enabled" in off.reason
    assert not checks.rule_notifies("bg", rule(), group(good, enabled=False), "soc@contoso.com").ok
    assert not checks.rule_notifies("bg", rule(), {AG: None}, "soc@contoso.com").ok


def test_a_stateful_rule_already_fired_says_how_long_to_wait() -> None:
    fired = [FiredAlert("/a/1", "r", "Fired", NOW - timedelta(minutes=2), None)]
    assert checks.rule_not_fired("bg", rule(), fired, NOW).ok  # stateless: every evaluation notifies
    verdict = checks.rule_not_fired("bg", rule(auto_mitigate=True), fired, NOW)
    assert not verdict.ok
    assert "10 minutes" in verdict.reason
    assert "03:10 UTC" in verdict.reason
    assert "Automatically resolve alerts" in verdict.reason
    resolved = [FiredAlert("/a/1", "r", "Resolved", NOW - timedelta(hours=1), NOW)]
    assert checks.rule_not_fired("bg", rule(auto_mitigate=True), resolved, NOW).ok


def test_resolve_after_follows_the_documented_table() -> None:
    assert checks.resolve_after(timedelta(minutes=1)) == timedelta(minutes=10)
    assert checks.resolve_after(timedelta(minutes=5)) == timedelta(minutes=15)
    assert checks.resolve_after(timedelta(hours=1)) == timedelta(hours=2)
    assert checks.resolve_after(timedelta(hours=12)) == timedelta(hours=12)


def test_query_drift_is_a_unified_diff_ignoring_trailing_space() -> None:
    assert (
        checks.query_drift("SigninLogs  \n| take 1\n\n", "\nSigninLogs\n| take 1", "/rule", "q.kql") is None
    )
    deployed = "SigninLogs\n| where UserPrincipalName in ('a')"
    diff = checks.query_drift(deployed, "SigninLogs\n| where UserId == 'x'", "/rule", "q.kql")
    assert diff is not None
    assert diff.splitlines()[0] == "--- q.kql"
    assert "+| where UserPrincipalName in ('a')" in diff


def test_categories_are_united_over_the_settings_that_reach_the_workspace() -> None:
    """One setting sends SignInLogs, another AuditLogs, same workspace: both tables arrive (issue 25)."""
    signins = DiagnosticSetting("signins", WS, frozenset({"SignInLogs"}))
    audits = DiagnosticSetting("audits", WS.upper(), frozenset({"AuditLogs"}))
    elsewhere = DiagnosticSetting("elsewhere", WS.replace("law", "law-it"), frozenset({"AuditLogs"}))
    verdict = checks.diagnostic_setting([signins, audits], WS)
    assert verdict.ok
    assert verdict.reason == "together signins, audits send both"
    # A setting to another workspace adds nothing to ours.
    split = checks.diagnostic_setting([signins, elsewhere], WS)
    assert not split.ok
    assert "signins send to" in split.reason
    assert "but not AuditLogs" in split.reason
