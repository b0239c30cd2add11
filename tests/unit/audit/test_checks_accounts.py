"""BG.ACC.1-8 on the healthy demo facts (pass) and on one named fault each (fail), plus unread -> ERROR."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from audit_support import (
    account,
    demo_playbook,
    healthy_facts,
    judged_after,
    judged_healthy,
    judged_unread,
)

from drill.audit.checks_accounts import CHECKS, NEVER_EXPIRES, person_name_problem
from drill.audit.facts import Facts
from drill.audit.model import Status
from drill.playbook import Playbook

Mutate = Callable[[Facts, Playbook], object]


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_healthy_demo_passes(check_id: str) -> None:
    outcome = judged_healthy(CHECKS[check_id])
    assert outcome.status is Status.PASSED, outcome.summary
    assert outcome.evidence


def _user(name: str, **changes: object) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        user = account(f, name).user
        assert user is not None
        user.update(changes)

    return mutate


def _gone(name: str) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        account(f, name).user = None

    return mutate


def _domain(**changes: object) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        for d in f.domains:
            d.update(changes)

    return mutate


def _method(odata: str) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        account(f, "ea02").methods.append({"@odata.type": f"#microsoft.graph.{odata}", "id": "m-1"})

    return mutate


def _licence(sku: str) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        acc = account(f, "ea01")
        acc.licenses.append({"skuId": "06ebc4ee-1bb5-47dd-8120-11324bc54e06", "skuPartNumber": sku})
        assert acc.user is not None
        acc.user["assignedLicenses"] = [
            {"skuId": "06ebc4ee-1bb5-47dd-8120-11324bc54e06", "disabledPlans": []}
        ]

    return mutate


def _one_account(_f: Facts, pb: Playbook) -> None:
    pb.accounts.pop()


FAILING: list[tuple[str, str, Mutate, str]] = [
    ("BG.ACC.1", "one-missing", _gone("ea02"), "ea02"),
    ("BG.ACC.1", "one-in-playbook", _one_account, "at least 2"),
    ("BG.ACC.2", "synced", _user("ea01", onPremisesSyncEnabled=True), "synchronised"),
    ("BG.ACC.9", "guest", _user("ea02", userType="Guest"), "userType is Guest"),
    ("BG.ACC.2", "not-read", lambda f, _pb: account(f, "ea01").user.pop("onPremisesSyncEnabled"), "not read"),  # type: ignore[union-attr]
    ("BG.ACC.2", "absent", _gone("ea01"), "does not exist"),
    ("BG.ACC.3", "custom-domain", _user("ea01", userPrincipalName="ea01@contoso.test"), "contoso.test"),
    ("BG.ACC.4", "person", _user("ea01", displayName="John Smith"), "First Last"),
    ("BG.ACC.4", "authorised", _user("ea02", displayName="Operator account 02"), "Demo Operator"),
    (
        "BG.ACC.4",
        "first.last",
        _user("ea02", userPrincipalName="john.smith@contoso.onmicrosoft.com"),
        "first.last",
    ),
    ("BG.ACC.5", "disabled", _user("ea02", accountEnabled=False), "accountEnabled"),
    ("BG.ACC.5", "absent", _gone("ea02"), "does not exist"),
    (
        "BG.ACC.6",
        "90-days",
        lambda f, pb: (
            _user("ea01", passwordPolicies=None)(f, pb),
            _domain(passwordValidityPeriodInDays=90)(f, pb),
        ),
        "90 days",
    ),
    (
        "BG.ACC.6",
        "unset-default",
        lambda f, pb: (
            _user("ea01", passwordPolicies="DisableStrongPassword")(f, pb),
            _domain(passwordValidityPeriodInDays=None)(f, pb),
        ),
        "90-day default",
    ),
    ("BG.ACC.7", "phone", _method("phoneAuthenticationMethod"), "phoneAuthenticationMethod"),
    (
        "BG.ACC.7",
        "authenticator",
        _method("microsoftAuthenticatorAuthenticationMethod"),
        "microsoftAuthenticator",
    ),
    ("BG.ACC.7", "tap", _method("temporaryAccessPassAuthenticationMethod"), "temporaryAccessPass"),
    ("BG.ACC.7", "whfb", _method("windowsHelloForBusinessAuthenticationMethod"), "windowsHelloForBusiness"),
    ("BG.ACC.7", "platform", _method("platformCredentialAuthenticationMethod"), "platformCredential"),
    ("BG.ACC.8", "e5", _licence("SPE_E5"), "SPE_E5"),
]


@pytest.mark.parametrize(
    ("check_id", "case", "mutate", "said"), FAILING, ids=[f"{c[0]}-{c[1]}" for c in FAILING]
)
def test_fault_fails(check_id: str, case: str, mutate: Mutate, said: str) -> None:
    outcome = judged_after(CHECKS[check_id], mutate)
    assert outcome.status is Status.FAILED, outcome.summary
    assert said in outcome.summary
    assert outcome.offenders


def test_every_check_has_a_failing_case() -> None:
    assert {c[0] for c in FAILING} == set(CHECKS)


@pytest.mark.parametrize(
    ("check_id", "fact"),
    [(c, "accounts.ea01.user") for c in sorted(CHECKS)]
    + [
        ("BG.ACC.3", "domains"),
        ("BG.ACC.6", "domains"),
        ("BG.ACC.7", "accounts.ea02.methods"),
        ("BG.ACC.8", "accounts.ea01.licenses"),
    ],
)
def test_unread_fact_is_an_error(check_id: str, fact: str) -> None:
    outcome = judged_unread(CHECKS[check_id], fact)
    assert outcome.status is Status.ERROR
    assert fact in outcome.summary


def test_offenders_are_named_for_people() -> None:
    facts = healthy_facts()
    _user("ea02", accountEnabled=False)(facts, demo_playbook())
    outcome = CHECKS["BG.ACC.5"](facts, demo_playbook())
    assert outcome.offenders == ["Emergency Access 02 (0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02)"]


def test_initial_domain_of_a_sovereign_cloud_is_accepted_and_named() -> None:
    facts = healthy_facts()
    facts.domains = [
        {"id": "contoso.onmicrosoft.us", "isInitial": True, "passwordValidityPeriodInDays": NEVER_EXPIRES}
    ]
    for acc in facts.accounts:
        assert acc.user is not None
        acc.user["userPrincipalName"] = acc.user["userPrincipalName"].replace(".com", ".us")
    outcome = CHECKS["BG.ACC.3"](facts, demo_playbook())
    assert outcome.status is Status.PASSED
    assert "onmicrosoft.us" in outcome.summary
    assert "sovereign" in outcome.summary


def test_no_initial_domain_is_an_error() -> None:
    facts = healthy_facts()
    for d in facts.domains:
        d["isInitial"] = False
    assert CHECKS["BG.ACC.3"](facts, demo_playbook()).status is Status.ERROR


def test_password_never_expiring_by_domain_alone_passes() -> None:
    facts = healthy_facts()
    _user("ea01", passwordPolicies=None)(facts, demo_playbook())
    assert CHECKS["BG.ACC.6"](facts, demo_playbook()).status is Status.PASSED


def test_entra_id_licence_is_minimal() -> None:
    facts = healthy_facts()
    _licence("AAD_PREMIUM_P2")(facts, demo_playbook())
    assert CHECKS["BG.ACC.8"](facts, demo_playbook()).status is Status.PASSED


@pytest.mark.parametrize(
    ("display", "upn", "people", "personal"),
    [
        ("Emergency Access 01", "ea01@x.onmicrosoft.com", ["Demo Operator"], False),
        ("Break Glass Admin", "bg-admin@x.onmicrosoft.com", ["Jane Doe"], False),
        ("Cloud Emergency", "emergency.access@x.onmicrosoft.com", ["Jane Doe"], False),
        ("BG 02", "bg02@x.onmicrosoft.com", ["Al Li"], False),  # tokens under 3 letters are ignored
        ("Jane Doe", "bg1@x.onmicrosoft.com", [], True),
        ("BG 01", "jane.doe@x.onmicrosoft.com", [], True),
        ("Emergency 01", "jsmith@x.onmicrosoft.com", ["John Smith"], True),
        (
            "Emergency 01",
            "jdoe@x.onmicrosoft.com",
            ["Jane Doe"],
            False,
        ),  # 3-letter tokens match whole words only
        ("Emergency 01", "janedoe@x.onmicrosoft.com", ["Jane Doe"], True),
        ("Emergency Access Smith", "ea3@x.onmicrosoft.com", ["Anna Smith"], True),
    ],
)
def test_name_heuristic(display: str, upn: str, people: list[str], personal: bool) -> None:
    assert (person_name_problem(display, upn, people) is not None) is personal
