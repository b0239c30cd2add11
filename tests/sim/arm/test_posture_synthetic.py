"""The synthetic-row proof (drill/audit/synthetic.py) judged by running queries, not reading them.

Each query runs through azure-monitor-query's LogsQueryClient over HTTPS against the simulator's Log
Analytics query API, exactly as `drill audit` runs it against a real workspace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from arm_support import observer_credential

from drill.assets import DEMO_QUERIES
from drill.audit import synthetic
from drill.audit.read_monitoring import run_query
from drill.sim.server import SimServer

REPO = Path(__file__).resolve().parents[3]
TENANT = "6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00"
WORKSPACE = "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c01"
EA01 = synthetic.Account("ea01", "ea01@contoso.onmicrosoft.com", "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01")
EA02 = synthetic.Account("ea02", "ea02@contoso.onmicrosoft.com", "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02")
ACCOUNTS = [EA01, EA02]
BOTH = {"signin": True, "audit": True}
NONE = {"signin": False, "audit": False}


@pytest.fixture
def run(sim: SimServer, observer_secret: str) -> Iterator[Any]:
    from azure.monitor.query import LogsQueryClient

    cred = observer_credential(sim, observer_secret, TENANT)
    client = LogsQueryClient(
        cred,
        endpoint=sim.base_url,
        audience="https://api.loganalytics.io",
        connection_verify=str(sim.ca_path),
    )
    yield lambda query: run_query(client, WORKSPACE, query)
    client.close()


def _prove(run: Any, query: str) -> synthetic.RuleProof:
    return synthetic.prove_rule("rule", [query], ACCOUNTS, TENANT, run)


def _together(*proofs: synthetic.RuleProof) -> dict[str, dict[str, bool]]:
    out = {a.name: {"signin": False, "audit": False} for a in ACCOUNTS}
    for proof in proofs:
        for account, kinds in proof.coverage.items():
            for kind in out[account]:
                out[account][kind] = out[account][kind] or kinds[kind]
    return out


def _two(proof: synthetic.RuleProof) -> dict[str, dict[str, bool]]:
    """The successful sign-in and audit kinds (the failed and non-interactive ones have their own tests)."""
    return {a: {k: kinds[k] for k in ("signin", "audit")} for a, kinds in proof.coverage.items()}


def _demo(name: str) -> str:
    return (DEMO_QUERIES / name).read_text(encoding="utf-8")


def test_the_two_demo_rules_together_cover_both_accounts(run: Any) -> None:
    signin = _prove(run, _demo("demo-breakglass-signin.kql"))
    activity = _prove(run, _demo("demo-breakglass-alert.kql"))
    assert _two(signin) == {
        "ea01": {"signin": True, "audit": False},
        "ea02": {"signin": True, "audit": False},
    }
    assert _two(activity) == {"ea01": BOTH, "ea02": BOTH}
    assert _together(signin, activity) == {"ea01": BOTH, "ea02": BOTH}
    assert signin.notes == []
    assert activity.notes == []


def test_has_any_over_object_ids_covers_what_a_text_matcher_would_miss(run: Any) -> None:
    """No `in (`, no `==`, the ids in a let: the query still catches both accounts."""
    query = (
        f'let Watch = dynamic(["{EA01.object_id}", "{EA02.object_id}"]);\n'
        "union (SigninLogs | where UserId has_any (Watch)),\n"
        "      (AuditLogs | where tostring(InitiatedBy.user.id) has_any (Watch))\n"
        "| where TimeGenerated > ago(5m)"
    )
    assert _two(_prove(run, query)) == {"ea01": BOTH, "ea02": BOTH}


def test_has_any_over_upns_misses_the_passkey_row_with_the_object_id(run: Any) -> None:
    query = f'SigninLogs | where UserPrincipalName has_any ("{EA01.upn}", "{EA02.upn}")'
    proof = _prove(run, query)
    assert _two(proof) == {"ea01": NONE, "ea02": NONE}
    assert any("object id in UserPrincipalName" in n for n in proof.notes)


def test_both_upns_in_one_has_any_string_match_nobody(run: Any) -> None:
    """A text matcher sees both UPNs; the comma inside the string makes one term nobody has."""
    query = (
        f'SigninLogs | where UserId == "{EA01.object_id}" or UserPrincipalName has_any ("{EA01.upn}, '
        f'{EA02.upn}")'
    )
    assert _two(_prove(run, query)) == {"ea01": {"signin": True, "audit": False}, "ea02": NONE}


def test_a_typo_in_one_id_loses_exactly_that_account(run: Any) -> None:
    typo = _demo("demo-breakglass-alert.kql").replace(EA02.object_id, EA02.object_id[:-2] + "20")
    assert _two(_prove(run, typo)) == {"ea01": BOTH, "ea02": NONE}


def test_an_account_named_only_in_a_comment_is_not_covered(run: Any) -> None:
    query = (
        f'// watches {EA01.object_id} and {EA02.object_id}\nSigninLogs | where UserId == "{EA01.object_id}"'
    )
    assert _two(_prove(run, query)) == {"ea01": {"signin": True, "audit": False}, "ea02": NONE}


def test_one_account_per_rule_is_covered_taken_together(run: Any) -> None:
    def only(account: synthetic.Account) -> str:
        return (
            f'union (SigninLogs | where UserId == "{account.object_id}"),\n'
            f'      (AuditLogs | where tostring(InitiatedBy.user.id) == "{account.object_id}")'
        )

    first, second = _prove(run, only(EA01)), _prove(run, only(EA02))
    assert _two(first) == {"ea01": BOTH, "ea02": NONE}
    assert _two(second) == {"ea01": NONE, "ea02": BOTH}
    assert _together(first, second) == {"ea01": BOTH, "ea02": BOTH}


def test_a_target_only_audit_query_still_sees_the_row_targeting_the_account(run: Any) -> None:
    query = (
        "AuditLogs | mv-expand T = TargetResources to typeof(dynamic)\n"
        f'| where tostring(T.id) in ("{EA01.object_id}", "{EA02.object_id}")'
    )
    assert _two(_prove(run, query)) == {
        "ea01": {"signin": False, "audit": True},
        "ea02": {"signin": False, "audit": True},
    }


def test_a_query_that_fires_on_nothing_proves_nothing(run: Any) -> None:
    proof = _prove(run, 'print Message = "always"')
    assert _two(proof) == {"ea01": NONE, "ea02": NONE}
    assert any("every table empty" in n for n in proof.notes)


def test_a_query_the_service_rejects_covers_nothing_and_says_why(run: Any) -> None:
    proof = _prove(run, "SigninLogs | wher UserId == 'x'")
    assert _two(proof) == {"ea01": NONE, "ea02": NONE}
    assert any("refused its query" in n for n in proof.notes)


def test_a_search_query_is_not_trusted(run: Any) -> None:
    proof = _prove(run, f'search "{EA01.upn}"')
    assert _two(proof) == {"ea01": NONE, "ea02": NONE}
    assert any("search" in n for n in proof.notes)


def test_non_interactive_table_is_shadowed_too(run: Any) -> None:
    """The simulated workspace has no AADNonInteractiveUserSignInLogs; the inline table stands in."""
    query = (
        f'union SigninLogs, AADNonInteractiveUserSignInLogs | where UserId == "{EA01.object_id}"'
        " | where TimeGenerated between (ago(5m) .. now())"
    )
    assert _two(_prove(run, query))["ea01"] == {"signin": True, "audit": False}


def test_blank_lines_in_a_deployed_query_do_not_split_it(run: Any) -> None:
    query = f'\n// sign-ins\n\nSigninLogs\n\n| where UserId == "{EA01.object_id}"\n'
    assert synthetic.with_rows(query, {}).count("\n\n") == 0
    assert _two(_prove(run, query))["ea01"] == {"signin": True, "audit": False}


def test_a_count_query_is_judged_by_its_measure_column(run: Any) -> None:
    """`summarize count()` answers one row even over nothing; with metricMeasureColumn the count decides."""
    query = f'SigninLogs | where UserId == "{EA01.object_id}" | summarize Hits = count()'
    by_rows = _prove(run, query)
    assert _two(by_rows) == {"ea01": NONE, "ea02": NONE}
    assert any("every table empty" in n for n in by_rows.notes)
    by_measure = synthetic.prove_rule("rule", [query], ACCOUNTS, TENANT, run, ["Hits"])
    assert _two(by_measure) == {"ea01": {"signin": True, "audit": False}, "ea02": NONE}
    assert by_measure.notes == []


def test_a_rule_seeing_only_successful_sign_ins_misses_the_failed_one(run: Any) -> None:
    """Failed attempts on an emergency account must alert: `ResultType == "0"` filters them out."""
    only_ok = f'SigninLogs | where UserId == "{EA01.object_id}" and ResultType == "0"'
    any_result = f'SigninLogs | where UserId == "{EA01.object_id}"'
    missed = _prove(run, only_ok)
    assert missed.coverage["ea01"]["signin"] is True
    assert missed.coverage["ea01"]["signin_failed"] is False
    assert any("failed sign-in" in n for n in missed.notes)
    assert _prove(run, any_result).coverage["ea01"]["signin_failed"] is True
    only_failed = f'SigninLogs | where UserId == "{EA01.object_id}" and ResultType != "0"'
    assert _prove(run, only_failed).coverage["ea01"]["signin_failed"] is True


def test_non_interactive_sign_ins_are_proven_on_their_own_table(run: Any) -> None:
    """The demo activity rule unions the non-interactive table; the sign-in rule does not read it."""
    assert _prove(run, _demo("demo-breakglass-alert.kql")).coverage["ea02"]["noninteractive"] is True
    assert _prove(run, _demo("demo-breakglass-signin.kql")).coverage["ea02"]["noninteractive"] is False
    by_tenant_column = (
        "AADNonInteractiveUserSignInLogs | extend D = parse_json(DeviceDetail)\n"
        f'| where UserId == "{EA02.object_id}" and isnotempty(TenantId) and isnotempty(tostring(D.browser))'
    )
    assert _prove(run, by_tenant_column).coverage["ea02"]["noninteractive"] is True
