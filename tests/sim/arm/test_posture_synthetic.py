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
            for kind, ok in kinds.items():
                out[account][kind] = out[account][kind] or ok
    return out


def _demo(name: str) -> str:
    return (DEMO_QUERIES / name).read_text(encoding="utf-8")


def test_the_two_demo_rules_together_cover_both_accounts(run: Any) -> None:
    signin = _prove(run, _demo("demo-breakglass-signin.kql"))
    activity = _prove(run, _demo("demo-breakglass-alert.kql"))
    assert signin.coverage == {
        "ea01": {"signin": True, "audit": False},
        "ea02": {"signin": True, "audit": False},
    }
    assert activity.coverage == {"ea01": BOTH, "ea02": BOTH}
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
    assert _prove(run, query).coverage == {"ea01": BOTH, "ea02": BOTH}


def test_has_any_over_upns_misses_the_passkey_row_with_the_object_id(run: Any) -> None:
    query = f'SigninLogs | where UserPrincipalName has_any ("{EA01.upn}", "{EA02.upn}")'
    proof = _prove(run, query)
    assert proof.coverage == {"ea01": NONE, "ea02": NONE}
    assert any("object id in UserPrincipalName" in n for n in proof.notes)


def test_both_upns_in_one_has_any_string_match_nobody(run: Any) -> None:
    """A text matcher sees both UPNs; the comma inside the string makes one term nobody has."""
    query = (
        f'SigninLogs | where UserId == "{EA01.object_id}" or UserPrincipalName has_any ("{EA01.upn}, '
        f'{EA02.upn}")'
    )
    assert _prove(run, query).coverage == {"ea01": {"signin": True, "audit": False}, "ea02": NONE}


def test_a_typo_in_one_id_loses_exactly_that_account(run: Any) -> None:
    typo = _demo("demo-breakglass-alert.kql").replace(EA02.object_id, EA02.object_id[:-2] + "20")
    assert _prove(run, typo).coverage == {"ea01": BOTH, "ea02": NONE}


def test_an_account_named_only_in_a_comment_is_not_covered(run: Any) -> None:
    query = (
        f'// watches {EA01.object_id} and {EA02.object_id}\nSigninLogs | where UserId == "{EA01.object_id}"'
    )
    assert _prove(run, query).coverage == {"ea01": {"signin": True, "audit": False}, "ea02": NONE}


def test_one_account_per_rule_is_covered_taken_together(run: Any) -> None:
    def only(account: synthetic.Account) -> str:
        return (
            f'union (SigninLogs | where UserId == "{account.object_id}"),\n'
            f'      (AuditLogs | where tostring(InitiatedBy.user.id) == "{account.object_id}")'
        )

    first, second = _prove(run, only(EA01)), _prove(run, only(EA02))
    assert first.coverage == {"ea01": BOTH, "ea02": NONE}
    assert second.coverage == {"ea01": NONE, "ea02": BOTH}
    assert _together(first, second) == {"ea01": BOTH, "ea02": BOTH}


def test_a_target_only_audit_query_still_sees_the_row_targeting_the_account(run: Any) -> None:
    query = (
        "AuditLogs | mv-expand T = TargetResources to typeof(dynamic)\n"
        f'| where tostring(T.id) in ("{EA01.object_id}", "{EA02.object_id}")'
    )
    assert _prove(run, query).coverage == {
        "ea01": {"signin": False, "audit": True},
        "ea02": {"signin": False, "audit": True},
    }


def test_a_query_that_fires_on_nothing_proves_nothing(run: Any) -> None:
    proof = _prove(run, 'print Message = "always"')
    assert proof.coverage == {"ea01": NONE, "ea02": NONE}
    assert any("every table empty" in n for n in proof.notes)


def test_a_query_the_service_rejects_covers_nothing_and_says_why(run: Any) -> None:
    proof = _prove(run, "SigninLogs | wher UserId == 'x'")
    assert proof.coverage == {"ea01": NONE, "ea02": NONE}
    assert any("refused its query" in n for n in proof.notes)


def test_a_search_query_is_not_trusted(run: Any) -> None:
    proof = _prove(run, f'search "{EA01.upn}"')
    assert proof.coverage == {"ea01": NONE, "ea02": NONE}
    assert any("search" in n for n in proof.notes)


def test_non_interactive_table_is_shadowed_too(run: Any) -> None:
    """The simulated workspace has no AADNonInteractiveUserSignInLogs; the inline table stands in."""
    query = (
        f'union SigninLogs, AADNonInteractiveUserSignInLogs | where UserId == "{EA01.object_id}"'
        " | where TimeGenerated between (ago(5m) .. now())"
    )
    assert _prove(run, query).coverage["ea01"] == {"signin": True, "audit": False}


def test_blank_lines_in_a_deployed_query_do_not_split_it(run: Any) -> None:
    query = f'\n// sign-ins\n\nSigninLogs\n\n| where UserId == "{EA01.object_id}"\n'
    assert synthetic.with_rows(query, {}).count("\n\n") == 0
    assert _prove(run, query).coverage["ea01"] == {"signin": True, "audit": False}


def test_a_count_query_is_judged_by_its_measure_column(run: Any) -> None:
    """`summarize count()` answers one row even over nothing; with metricMeasureColumn the count decides."""
    query = f'SigninLogs | where UserId == "{EA01.object_id}" | summarize Hits = count()'
    by_rows = _prove(run, query)
    assert by_rows.coverage == {"ea01": NONE, "ea02": NONE}
    assert any("every table empty" in n for n in by_rows.notes)
    by_measure = synthetic.prove_rule("rule", [query], ACCOUNTS, TENANT, run, ["Hits"])
    assert by_measure.coverage == {"ea01": {"signin": True, "audit": False}, "ea02": NONE}
    assert by_measure.notes == []
