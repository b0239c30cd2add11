"""Run every catalogued check over one set of facts; a check that breaks is an ERROR, never a crash.

Check modules (`checks_<area>.py`) each export `CHECKS: dict[str, CheckFn]` keyed by catalog id. This module
is the only place that joins them, and it refuses a catalog entry without a check (or a check without an
entry), so no control can be listed in a report without being judged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drill.audit import (
    checks_accounts,
    checks_alerting,
    checks_ca,
    checks_methods,
    checks_procedures,
    checks_roles,
)
from drill.audit.catalog import CATALOG
from drill.audit.model import CheckFn, Outcome, Result, Status

if TYPE_CHECKING:
    from drill.audit.facts import Facts
    from drill.playbook import Playbook

_MODULES = (checks_accounts, checks_roles, checks_methods, checks_ca, checks_alerting, checks_procedures)


def registry() -> dict[str, CheckFn]:
    out: dict[str, CheckFn] = {}
    for module in _MODULES:
        for check_id, fn in module.CHECKS.items():
            if check_id in out:
                raise RuntimeError(f"check {check_id} is defined twice")
            out[check_id] = fn
    ids = {spec.id for spec in CATALOG}
    if set(out) != ids:
        raise RuntimeError(
            f"catalog and checks differ: no check for {sorted(ids - set(out))}, "
            f"no catalog entry for {sorted(set(out) - ids)}"
        )
    return out


def judge(facts: Facts, playbook: Playbook) -> list[Result]:
    checks = registry()
    results = []
    for spec in CATALOG:
        try:
            outcome = checks[spec.id](facts, playbook)
        except Exception as exc:  # noqa: BLE001 - a broken check fails the audit, visibly, with its reason
            outcome = Outcome.error(f"the check broke: {type(exc).__name__}: {str(exc)[:300]}")
        if spec.advisory and outcome.status is Status.FAILED:
            outcome.status = Status.WARNING
        results.append(Result(spec, outcome))
    return results
