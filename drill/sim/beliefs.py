"""Beliefs and their variants: every shape of Microsoft's we could not verify, served in each plausible form.

A fault breaks a link and the drill must FAIL. A *variant* is the opposite: one plausible way a healthy
tenant may answer where no public source settles the shape (where the alert instance keeps its condition,
which template the alert mail uses, ...). A healthy tenant under any variant must PASS; a fault must
still FAIL under each variant of the link it breaks.

Each service declares the beliefs it can vary in a module-level `BELIEFS` list, as it declares `FAULTS`;
this module only collects, validates and applies them. Services ask `form(state, belief_id)` at request
time. `drill/sim/DIFFERENCES.md` holds one table row per belief (its source, or why none exists, the forms
served and the product code that depends on it); tests/sim/test_beliefs.py keeps the two in step.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drill.sim.state import SimState

SEARCH_MOVES = 3000  # per row count tried; deterministic (seeded), well under a second


@dataclass(frozen=True)
class Belief:
    """One unverified shape and its plausible forms; the first form is the simulator's default."""

    id: str  # e.g. "alert-instance-condition"
    summary: str  # one line for `drill sim variants`
    forms: Mapping[str, str]  # form name -> what the simulator serves under it (ordered; first = default)
    # Optional start-up hook for forms that reshape the tenant rather than a response (sign-in pages).
    apply: Callable[[SimState, str], None] | None = field(default=None, compare=False)

    @property
    def default(self) -> str:
        return next(iter(self.forms))


def _modules() -> Iterable[Any]:
    """Every simulator module, so a service that starts declaring BELIEFS is found without a list to edit
    (imported lazily: the services import this module)."""
    import importlib
    import pkgutil

    import drill.sim

    for info in pkgutil.walk_packages(drill.sim.__path__, "drill.sim."):
        yield importlib.import_module(info.name)


def all_beliefs() -> dict[str, Belief]:
    """Every declared belief by id (a copy: the declarations are collected once per process)."""
    return dict(_collected())


@functools.cache
def _collected() -> dict[str, Belief]:
    out: dict[str, Belief] = {}
    for module in _modules():
        for belief in getattr(module, "BELIEFS", []):
            if belief.id in out:
                raise RuntimeError(f"belief {belief.id} is declared twice")
            if not belief.forms:
                raise RuntimeError(f"belief {belief.id} declares no form")
            out[belief.id] = belief
    return dict(sorted(out.items()))


def parse_variant(text: str) -> tuple[str, str]:
    """`BELIEF=FORM` as typed on the command line; KeyError naming what is known when either is unknown."""
    belief_id, sep, form_name = text.partition("=")
    beliefs = all_beliefs()
    if not sep or belief_id not in beliefs:
        known = ", ".join(beliefs) or "none"
        raise KeyError(f"variant {text!r}: write BELIEF=FORM; beliefs: {known}")
    if form_name not in beliefs[belief_id].forms:
        raise KeyError(f"variant {text!r}: {belief_id} has the forms {', '.join(beliefs[belief_id].forms)}")
    return belief_id, form_name


def apply_variant(state: SimState, belief_id: str, form_name: str) -> None:
    """Choose one form of one belief for this simulated tenant (before or while it serves)."""
    beliefs = all_beliefs()
    if belief_id not in beliefs or form_name not in beliefs[belief_id].forms:
        raise KeyError(f"unknown variant {belief_id}={form_name}; `drill sim variants` lists them")
    variants = state.services.setdefault("variants", {})
    variants[belief_id] = form_name
    hook = beliefs[belief_id].apply
    if hook is not None:
        hook(state, form_name)


def form(state: SimState, belief_id: str) -> str:
    """The form of `belief_id` this tenant serves: the chosen variant, else the belief's default."""
    chosen = state.services.get("variants", {}).get(belief_id)
    if chosen is not None:
        return str(chosen)
    beliefs = all_beliefs()
    if belief_id not in beliefs:
        raise KeyError(f"belief {belief_id!r} is not declared by any service's BELIEFS")
    return beliefs[belief_id].default


def pairwise_rows(forms: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """Rows choosing one form per belief such that every pair of forms of every two beliefs is in some row.

    A greedy cover (each row starts from an uncovered pair, then takes for every other belief the form that
    covers most new pairs), then shrunk by a seeded local search where it can be (`_shrunk`); deterministic
    for a given input: far fewer rows than the full product, and every interaction of two beliefs is still
    run once. A single belief gives one row per form.
    """
    names = sorted(forms)
    if not names:
        return []
    if len(names) == 1:
        return [{names[0]: f} for f in forms[names[0]]]
    uncovered = _pairs_of_forms(names, forms)
    rows: list[dict[str, str]] = []
    while uncovered:
        # Each uncovered pair seeds a candidate row; the row covering most new pairs is kept (ties: the
        # smallest seed), so the cover stays deterministic and close to the lower bound (the product of the
        # two largest form counts).
        best: tuple[int, dict[str, str]] | None = None
        for seed in sorted(uncovered):
            row = _fill(names, forms, uncovered, seed)
            gain = len(uncovered & _pairs(names, row))
            if best is None or gain > best[0]:
                best = (gain, row)
        assert best is not None
        uncovered -= _pairs(names, best[1])
        rows.append(dict(sorted(best[1].items())))
    return _shrunk(names, forms, rows)


def _shrunk(
    names: Sequence[str], forms: Mapping[str, Sequence[str]], rows: list[dict[str, str]]
) -> list[dict[str, str]]:
    """The greedy cover, or a cover with fewer rows found by a short seeded local search: each row of the
    variant matrix is a browser drill, and the greedy cover often lands a row or two above the lower bound
    (the product of the two largest form counts), which the search reaches in a few hundred moves."""
    sizes = sorted(len(forms[n]) for n in names)
    for target in range(sizes[-1] * sizes[-2], len(rows)):
        rng = random.Random(target)  # noqa: S311 - a seeded search for test rows, no secret
        found = _search(names, forms, target, rng, SEARCH_MOVES)
        if found is not None:
            return [dict(sorted(r.items())) for r in found]
    return rows


def _search(
    names: Sequence[str], forms: Mapping[str, Sequence[str]], n_rows: int, rng: random.Random, moves: int
) -> list[dict[str, str]] | None:
    """`n_rows` rows covering every pair, or None: start at random, then repeatedly write an uncovered pair
    into a random row, keeping the change unless it uncovers more than it covers (kept anyway one time in
    ten, to leave local minima)."""
    every = sorted(_pairs_of_forms(names, forms))
    rows = [{n: rng.choice(list(forms[n])) for n in names} for _ in range(n_rows)]
    count: dict[Any, int] = {}

    def tally(row: Mapping[str, str], step: int) -> None:
        for pair in _pairs(names, row):
            count[pair] = count.get(pair, 0) + step

    for row in rows:
        tally(row, 1)
    for _ in range(moves):
        missing = [pair for pair in every if not count.get(pair)]
        if not missing:
            return rows
        (a, fa), (b, fb) = rng.choice(missing)
        at = rng.randrange(n_rows)
        old = rows[at]
        new = {**old, a: fa, b: fb}
        tally(old, -1)
        tally(new, 1)
        rows[at] = new
        if sum(not count.get(pair) for pair in every) > len(missing) and rng.random() > 0.1:
            tally(new, -1)
            tally(old, 1)
            rows[at] = old
    return None


def _pairs_of_forms(names: Sequence[str], forms: Mapping[str, Sequence[str]]) -> set[Any]:
    return {
        ((a, fa), (b, fb))
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        for fa in forms[a]
        for fb in forms[b]
    }


def _fill(
    names: Sequence[str], forms: Mapping[str, Sequence[str]], uncovered: set[Any], seed: Any
) -> dict[str, str]:
    """A row from one uncovered pair: each other belief takes the form covering most uncovered pairs."""
    (a, fa), (b, fb) = seed
    row = {a: fa, b: fb}
    for name in sorted(names, key=lambda n: -len(forms[n])):
        if name in row:
            continue
        gains = [(_gain(uncovered, row, name, choice), -i) for i, choice in enumerate(forms[name])]
        row[name] = forms[name][-max(gains)[1]]
    return row


def _pairs(names: Sequence[str], row: Mapping[str, str]) -> set[Any]:
    return {((x, row[x]), (y, row[y])) for i, x in enumerate(names) for y in names[i + 1 :]}


def _gain(uncovered: set[Any], row: Mapping[str, str], name: str, choice: str) -> int:
    """How many still uncovered pairs choosing `choice` for `name` would cover in this row."""
    return sum(tuple(sorted([(other, f), (name, choice)])) in uncovered for other, f in row.items())


def variant_args(row: Mapping[str, str]) -> list[str]:
    """A row as the `BELIEF=FORM` texts `drill demo --variant` takes."""
    return [f"{belief_id}={form_name}" for belief_id, form_name in row.items()]
