"""Mutation testing of the whole catalogue: every fact field a check judges has an unsafe value that fails it.

For each check, the generator (mutation.py) records the fields it reads on the healthy facts and perturbs
each; a field whose change moves the verdict is judged, and the rule table (mutation_rules.py) must then
name an unsafe value of it that fails the check, by the check's rationale. Every rule is proved: unsafe
values fail the checks they name, safe variations keep every check passing. Pure judging over facts: the
whole file runs in seconds.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from drill.audit.catalog import CATALOG
from drill.audit.judge import registry
from drill.audit.model import Outcome, Status
from drill.playbook import Playbook
from tests.unit.audit import mutation as m
from tests.unit.audit.mutation_rules import BASES, JOIN_KEYS, PLAYBOOK_ONLY, RULES, base

CHECKS = registry()


def _judge(check_id: str, facts: Any, pb: Playbook) -> Outcome:
    try:
        return CHECKS[check_id](facts, pb)
    except Exception as exc:  # a check that breaks on a mutated fact is a bug the mutation found
        raise AssertionError(f"{check_id} broke on mutated facts: {type(exc).__name__}: {exc}") from exc


@cache
def _healthy(name: str) -> dict[str, Status]:
    facts, pb = base(name)
    return {cid: _judge(cid, facts, pb).status for cid in CHECKS}


@cache
def _judged(check_id: str) -> dict[str, set[str]]:
    """Base name -> the field patterns whose perturbation moves this check's verdict on that base."""
    out: dict[str, set[str]] = {}
    for name in BASES:
        facts, pb = base(name)
        before = _healthy(name)[check_id]
        judged: set[str] = set()
        for path in m.reads(CHECKS[check_id], facts, pb):
            value = m.value_at(facts, path)
            if value is m.ABSENT or not m.is_leaf(value) or m.pattern(path) in judged:
                continue
            for new in m.perturbations(value):
                if _judge(check_id, m.changed(facts, path, new), pb).status is not before:
                    judged.add(m.pattern(path))
                    break
        out[name] = judged
    return out


def _fails(outcome: Outcome, error_ok: bool) -> bool:
    """FAILED (the judge shows an advisory check's failure as WARNING), or ERROR where the rule allows it."""
    return outcome.status is Status.FAILED or (error_ok and outcome.status is Status.ERROR)


def test_every_base_is_healthy() -> None:
    """Each starting point passes every check (the Sentinel check is not applicable without a rule)."""
    for name in BASES:
        wrong = {c: s for c, s in _healthy(name).items() if s is not Status.PASSED}
        if name != "sentinel":
            assert wrong.pop("BG.AL.5", None) is Status.NOT_APPLICABLE
        assert wrong == {}, name


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param(r, marks=pytest.mark.xfail(reason=r.pending, strict=False)) if r.pending else r
        for r in RULES
    ],
    ids=[r.name for r in RULES],
)
def test_rule(rule: m.Rule) -> None:
    """Unsafe: every named check fails at every place the rule applies. Safe: nothing moves."""
    facts, pb = base(rule.base)
    healthy = _healthy(rule.base)
    places = list(m.applied(rule, facts))
    assert places, f"{rule.pattern} matches nothing in the {rule.base} facts: the rule is stale"
    for path, mutated in places:
        for check_id in rule.fails:
            outcome = _judge(check_id, mutated, pb)
            assert _fails(outcome, rule.error_ok), (
                f"{check_id} stays {outcome.status} with {path} = {m.value_at(mutated, path)!r} "
                f"({rule.why}): {outcome.summary}"
            )
        if not rule.fails:
            moved = {
                cid: (_judge(cid, mutated, pb).status, healthy[cid])
                for cid in CHECKS
                if _judge(cid, mutated, pb).status is not healthy[cid]
            }
            assert moved == {}, f"a safe variation at {path} ({rule.why}) moved: {moved}"


@pytest.mark.parametrize("check_id", [spec.id for spec in CATALOG])
def test_every_judged_field_has_an_unsafe_value(check_id: str) -> None:
    """The generator finds the fields the check judges; the table must name an unsafe value for each."""
    if check_id in PLAYBOOK_ONLY:
        for name in BASES:
            facts, pb = base(name)
            read = {m.pattern(p) for p in m.reads(CHECKS[check_id], facts, pb)}
            assert read == set(), f"{check_id} now reads {sorted(read)}: give it mutation rules"
        return
    proved = [r for r in RULES if check_id in r.fails and not r.pending]
    covered = {r.pattern for r in proved} | {p for r in proved for p, _ in r.also}
    assert covered, f"{check_id} has no unsafe mutation in mutation_rules.py"
    judged = set().union(*_judged(check_id).values())
    uncovered = sorted(judged - covered - JOIN_KEYS)
    assert uncovered == [], (
        f"{check_id} judges {uncovered} but mutation_rules.py names no unsafe value of them for it: "
        "add a rule saying which value the check's rationale calls unsafe"
    )


def test_the_mutations_cover_the_whole_catalogue() -> None:
    assert len(CATALOG) >= 39
    named = {c for r in RULES for c in r.fails} | set(PLAYBOOK_ONLY)
    assert named == set(CHECKS)
