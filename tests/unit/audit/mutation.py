"""Mutation testing over the audit's facts model: which fact fields a check reads, what changing them does.

The generator knows nothing about any one check. It records every field of `Facts` a check reads on the
healthy facts (the facts are wrapped in containers that log each access by path), perturbs each field it
read with values of the field's own type, and re-judges. A check whose verdict moves when a field moves
*judges* that field, and the declared rules (mutation_rules.py) must then say which value of it is unsafe
for that check, by the check's own rationale, and prove the check fails on it. So a new check, or an old
check reading a new field, is covered without writing a test for it: the generator finds the field and
refuses to pass until the rule table names its unsafe value.

Paths are tuples of attribute names, dict keys and list indices ("accounts", 0, "user", "accountEnabled");
a pattern replaces list indices and the keys of id-keyed maps (coverage, role_policies, ...) by "*".
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from drill.audit.facts import Facts

Path = tuple[Any, ...]
Obj = dict[str, Any]

# Facts maps keyed by an id or a name, not by a property name: how many levels of keys are ids.
ID_KEYED = {
    "coverage": 2,
    "role_policies": 1,
    "identity_roles": 1,
    "action_groups": 1,
    "last_pass": 1,
    "unread": 1,
    "requests": 1,
    "unreachable": 1,
}


def pattern(path: Path) -> str:
    """ "accounts.*.user.accountEnabled" for ("accounts", 0, "user", "accountEnabled")."""
    keyed = ID_KEYED.get(path[0], 0) if path else 0
    parts = []
    for i, step in enumerate(path):
        parts.append("*" if isinstance(step, int) or 1 <= i <= keyed else str(step))
    return ".".join(parts)


# -- tracing -------------------------------------------------------------------------------------------------


class _Log:
    def __init__(self) -> None:
        self.paths: set[Path] = set()


def _wrap(value: Any, path: Path, log: _Log) -> Any:
    if type(value) is dict:
        return _TDict(value, path, log)
    if type(value) is list:
        return _TList(value, path, log)
    return value


class _TDict(dict):  # type: ignore[type-arg]
    def __init__(self, data: Obj, path: Path, log: _Log) -> None:
        super().__init__(data)
        self._path, self._log = path, log

    def _child(self, key: Any) -> Any:
        path = (*self._path, key)
        self._log.paths.add(path)
        return _wrap(dict.__getitem__(self, key), path, self._log)

    def __getitem__(self, key: Any) -> Any:
        return self._child(key)

    def get(self, key: Any, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return self._child(key)
        self._log.paths.add((*self._path, key))
        return default

    def __contains__(self, key: object) -> bool:
        self._log.paths.add((*self._path, key))
        return dict.__contains__(self, key)

    def items(self) -> Iterator[tuple[Any, Any]]:  # type: ignore[override]
        return iter([(k, self._child(k)) for k in dict.keys(self)])

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        return iter([self._child(k) for k in dict.keys(self)])

    def keys(self) -> Any:
        self._log.paths.add(self._path)
        return dict.keys(self)

    def __iter__(self) -> Iterator[Any]:
        self._log.paths.add(self._path)
        return dict.__iter__(self)


class _TList(list):  # type: ignore[type-arg]
    def __init__(self, data: list[Any], path: Path, log: _Log) -> None:
        super().__init__(data)
        self._path, self._log = path, log

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        i = index % len(self) if index < 0 else index
        return _wrap(list.__getitem__(self, i), (*self._path, i), self._log)

    def __iter__(self) -> Iterator[Any]:
        self._log.paths.add(self._path)
        for i in range(len(self)):
            yield self[i]

    def __add__(self, other: Any) -> list[Any]:  # type: ignore[override]
        return [*self, *other]

    def __radd__(self, other: Any) -> list[Any]:
        return [*other, *self]


def _traced_dataclass(obj: Any, path: Path, log: _Log) -> Any:
    names = {f.name for f in fields(obj)}

    class Traced(type(obj)):  # type: ignore[misc]
        def __getattribute__(self, name: str) -> Any:
            value = object.__getattribute__(self, name)
            if name in names:
                sub = (*path, name)
                log.paths.add(sub)
                if name == "accounts":
                    return _TList(
                        [_traced_dataclass(a, (*sub, i), log) for i, a in enumerate(value)], sub, log
                    )
                return _wrap(value, sub, log)
            return value

    traced = object.__new__(Traced)
    for name in names:
        object.__setattr__(traced, name, getattr(obj, name))
    return traced


def reads(check: Callable[..., Any], facts: Facts, playbook: Any) -> set[Path]:
    """Every path of `facts` the check touched while judging it (a field's parents are touched too)."""
    log = _Log()
    check(_traced_dataclass(facts, (), log), playbook)
    return log.paths


# -- walking and changing facts ------------------------------------------------------------------------------

ABSENT = object()  # a mutation value meaning "the property is not there at all"


def value_at(facts: Facts, path: Path) -> Any:
    node: Any = facts
    for step in path:
        if is_dataclass(node):
            node = getattr(node, step)
        elif isinstance(node, dict):
            if step not in node:
                return ABSENT
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            return ABSENT
    return node


def changed(facts: Facts, path: Path, value: Any) -> Facts:
    """A deep copy of `facts` with the value at `path` replaced (ABSENT: removed)."""
    out = copy.deepcopy(facts)
    parent = value_at(out, path[:-1]) if len(path) > 1 else out
    last = path[-1]
    if is_dataclass(parent):
        setattr(parent, last, value)
    elif value is ABSENT:
        if isinstance(parent, dict):
            parent.pop(last, None)
        else:
            del parent[last]
    else:
        parent[last] = value
    return out


def walk(node: Any, path: Path = ()) -> Iterator[Path]:
    """Every path in the facts, containers and leaves."""
    if is_dataclass(node):
        for f in fields(node):
            sub = (*path, f.name)
            yield sub
            yield from walk(getattr(node, f.name), sub)
    elif isinstance(node, dict):
        for key, value in node.items():
            sub = (*path, key)
            yield sub
            yield from walk(value, sub)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            sub = (*path, i)
            yield sub
            yield from walk(value, sub)


def is_leaf(value: Any) -> bool:
    """A scalar, or a list of scalars (a set of ids, of modes): what a check compares."""
    if isinstance(value, list):
        return all(not isinstance(v, dict | list) and not is_dataclass(v) for v in value)
    return not isinstance(value, dict) and not is_dataclass(value)


def perturbations(value: Any) -> list[Any]:
    """Values of the field's own type that differ from it: what the generator tries on every field read.

    Type-preserving on purpose: Graph and ARM do not answer a string where a list of objects belongs, and
    a check that breaks on such an answer is reported as ERROR by the judge anyway."""
    if isinstance(value, bool):
        return [not value, None]
    if isinstance(value, int | float):
        return [0, -1, value * 1000 + 1]
    if isinstance(value, str):
        return ["", value + "-mutated"]
    if isinstance(value, list) and value:
        # An empty list, like None, says nothing of the type of its items: it is not perturbed.
        shorter = [value[:1]] if len(value) > 1 else []
        return [[], *shorter, [*value, "00000000-0000-4000-8000-0000000000ff"]]
    return []


# -- declared rules ------------------------------------------------------------------------------------------

Where = Callable[[Facts, Path], bool]


@dataclass(frozen=True)
class Rule:
    """One change to one field: `value` (or `value(old)`) at every path matching `pattern` that `where` keeps.

    `fails` names the checks whose own rationale calls the new value unsafe: each must then fail (FAILED,
    which the judge shows as WARNING for an advisory check; ERROR only when `error_ok`, for a value that
    makes the facts unjudgeable).
    An empty `fails` is a safe variation: every check must keep the status it has on the base facts.
    `base` names the healthy starting point (mutation_rules.BASES); `also` changes further fields with it,
    for a field that is safe alone and unsafe only together (passwordPolicies with the domain's validity).
    """

    pattern: str
    value: Any
    fails: frozenset[str]
    why: str
    where: Where | None = None
    base: str = "demo"
    also: tuple[tuple[str, Any], ...] = ()
    error_ok: bool = False
    # A known gap another change closes ("issue 26, class 5"): an expected failure until it is merged.
    pending: str = ""

    @property
    def name(self) -> str:
        verdict = "unsafe:" + "+".join(sorted(self.fails)) if self.fails else "safe"
        return f"{self.base}:{self.pattern}={self.why}:{verdict}"


def unsafe(pattern: str, value: Any, *checks: str, why: str, **kw: Any) -> Rule:
    return Rule(pattern, value, frozenset(checks), why, **kw)


def safe(pattern: str, value: Any, *, why: str, **kw: Any) -> Rule:
    return Rule(pattern, value, frozenset(), why, **kw)


def paths_matching(facts: Facts, wanted: str) -> list[Path]:
    return [p for p in walk(facts) if pattern(p) == wanted]


def _new_value(value: Any, old: Any) -> Any:
    return value(copy.deepcopy(old)) if callable(value) else copy.deepcopy(value)


def applied(rule: Rule, facts: Facts) -> Iterator[tuple[Path, Facts]]:
    """The rule applied at each path it matches, one path at a time (each a fresh copy of the facts)."""
    for path in paths_matching(facts, rule.pattern):
        if rule.where is not None and not rule.where(facts, path):
            continue
        old = value_at(facts, path)
        new = _new_value(rule.value, old)
        if new == old:
            continue
        out = changed(facts, path, new)
        for other, value in rule.also:
            for sub in paths_matching(out, other):
                if _same_object(rule.pattern, path, other, sub):
                    out = changed(out, sub, _new_value(value, value_at(out, sub)))
        yield path, out


def _same_object(pattern_a: str, path_a: Path, pattern_b: str, path_b: Path) -> bool:
    """Whether two paths lie in the same object as far as their patterns share a prefix ("ca_policies.*":
    the same policy), so that `also` changes the object the rule changed, not every one like it."""
    shared = 0
    for x, y in zip(pattern_a.split("."), pattern_b.split("."), strict=False):
        if x != y:
            break
        shared += 1
    return path_a[:shared] == path_b[:shared]
