"""The belief table in drill/sim/DIFFERENCES.md and the beliefs the services declare are one list.

A belief the code serves without a row is a guess nobody can review; a row without a declared belief is a
promise the simulator does not keep; a belief with one form lets a verdict lean on a guess, unless its row
says (after `ONE FORM:`) why no other form is plausible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from drill.assets import DEMO_TENANT
from drill.sim.beliefs import (
    Belief,
    all_beliefs,
    apply_variant,
    form,
    pairwise_rows,
    parse_variant,
    variant_args,
)
from drill.sim.server import SimServer
from drill.sim.tenant import load_tenant

REPO = Path(__file__).resolve().parents[2]
TABLE_FILE = REPO / "drill" / "sim" / "DIFFERENCES.md"
TABLE_HEADING = "## Beliefs the verdict depends on"
ONE_FORM = "ONE FORM:"
BELIEF_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
COLUMNS = ("belief", "what we could not verify", "source", "forms served", "product code")


@dataclass(frozen=True)
class Row:
    line: int
    belief: str
    source: str
    forms: tuple[str, ...]
    depends: str


def _forms(cell: str) -> tuple[str, ...]:
    """The forms cell: names separated by commas, each optionally in backticks, notes in parentheses."""
    names = re.sub(r"\([^)]*\)", "", cell).replace("`", "").split(",")
    return tuple(n.strip() for n in names if n.strip())


def parse_table(text: str) -> list[Row]:
    """The rows of the belief table (the first markdown table after its heading), with their line numbers."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(TABLE_HEADING)), None)
    if start is None:
        raise AssertionError(f"no {TABLE_HEADING!r} section")
    rows: list[Row] = []
    in_table = False
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if line.startswith("## "):
            break
        if not line.startswith("|"):
            if in_table:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not in_table:
            in_table = True
            if not all(c.startswith(want) for c, want in zip(cells, COLUMNS, strict=False)):
                raise AssertionError(f"line {number}: the header should be {COLUMNS}, is {cells}")
            continue
        if set(line.replace("|", "").strip()) <= {"-", " "}:
            continue
        if len(cells) != len(COLUMNS):
            raise AssertionError(f"line {number}: {len(cells)} cells, the table has {len(COLUMNS)}")
        belief = cells[0].strip("`")
        if not BELIEF_ID.match(belief):
            raise AssertionError(f"line {number}: the belief cell must hold one id, holds {cells[0]!r}")
        rows.append(Row(number, belief, cells[2], _forms(cells[3]), cells[4]))
    return rows


def problems(rows: list[Row], declared: dict[str, Belief]) -> list[str]:
    """Every way the table and the code disagree, one line each (empty when they agree)."""
    out: list[str] = []
    by_id: dict[str, Row] = {}
    for row in rows:
        if row.belief in by_id:
            first = by_id[row.belief].line
            out.append(f"line {row.line}: {row.belief} has a second row (first at line {first})")
        by_id[row.belief] = row
    for belief_id in sorted(declared.keys() - by_id.keys()):
        out.append(f"{belief_id}: declared in code, no row in the table")
    for belief_id in sorted(by_id.keys() - declared.keys()):
        out.append(f"line {by_id[belief_id].line}: {belief_id} has a row, no service declares it")
    for belief_id in sorted(declared.keys() & by_id.keys()):
        row, forms = by_id[belief_id], tuple(declared[belief_id].forms)
        if row.forms != forms:
            out.append(f"line {row.line}: {belief_id} lists the forms {row.forms}, the code serves {forms}")
        if len(forms) < 2 and ONE_FORM not in row.source:
            out.append(
                f"line {row.line}: {belief_id} has one form and its source does not say ({ONE_FORM} ...) "
                "why only one is plausible"
            )
        if not row.source or not row.depends:
            out.append(f"line {row.line}: {belief_id} names no source or no product code that depends on it")
    return out


def test_the_belief_table_and_the_declared_beliefs_agree() -> None:
    assert problems(parse_table(TABLE_FILE.read_text(encoding="utf-8")), all_beliefs()) == []


TABLE = f"""{TABLE_HEADING}, and the variants served (issue 25)

| belief | what we could not verify | source | forms served | product code that depends on it |
| --- | --- | --- | --- | --- |
| `a` | x | BELIEF | `one` (default), `two` | drill/x.py |
| `b` | x | {ONE_FORM} the spec fixes it | `only` | drill/y.py |

## Next section
| `c` | not in the table | s | `f` | d |
"""


def _declared(**forms: tuple[str, ...]) -> dict[str, Belief]:
    return {k: Belief(k, k, {f: f for f in v}) for k, v in forms.items()}


def test_the_parser_reads_ids_forms_and_stops_at_the_next_section() -> None:
    rows = parse_table(TABLE)
    assert [(r.belief, r.forms) for r in rows] == [("a", ("one", "two")), ("b", ("only",))]
    assert problems(rows, _declared(a=("one", "two"), b=("only",))) == []


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ({"a": ("one", "two"), "b": ("only",), "z": ("p", "q")}, "z: declared in code, no row"),
        ({"a": ("one", "two")}, "b has a row, no service declares it"),
        ({"a": ("one", "three"), "b": ("only",)}, "a lists the forms ('one', 'two'), the code serves"),
        ({"a": ("two", "one"), "b": ("only",)}, "a lists the forms"),  # the default is the first form
    ],
)
def test_each_disagreement_is_named(declared: dict[str, tuple[str, ...]], expected: str) -> None:
    found = problems(parse_table(TABLE), _declared(**declared))
    assert any(expected in line for line in found), found


def test_one_form_without_the_marker_is_refused() -> None:
    table = TABLE.replace(f"{ONE_FORM} the spec fixes it", "VERIFIED somewhere")
    found = problems(parse_table(table), _declared(a=("one", "two"), b=("only",)))
    assert found == [
        f"line 6: b has one form and its source does not say ({ONE_FORM} ...) why only one is plausible"
    ]


def test_a_variant_is_chosen_per_tenant_and_unknown_ones_are_refused(tmp_path: Path) -> None:
    with SimServer(load_tenant(DEMO_TENANT), tmp_path) as sim:
        assert form(sim.state, "signin-row-upn") == "object-id"
        apply_variant(sim.state, *parse_variant("signin-row-upn=upn"))
        assert form(sim.state, "signin-row-upn") == "upn"
        apply_variant(sim.state, *parse_variant("kmsi-prompt=hidden"))  # the hook sets the tenant's knob
        assert sim.state.tenant.signInExperience["showKmsi"] is False
        with pytest.raises(KeyError, match="forms object-id, upn"):
            parse_variant("signin-row-upn=email")
        with pytest.raises(KeyError, match="write BELIEF=FORM"):
            parse_variant("no-such-belief=x")


def _uncovered_pairs(forms: dict[str, list[str]], rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
    names = sorted(forms)
    missing = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for fa in forms[a]:
                for fb in forms[b]:
                    if not any(r[a] == fa and r[b] == fb for r in rows):
                        missing.append((a, fa, b, fb))
    return missing


@pytest.mark.parametrize(
    "sizes",
    [(2,), (3, 2), (2, 2, 2), (4, 3, 2, 2, 3), (2, 4, 2, 3, 2, 2, 4), (1, 3, 1)],
    ids=lambda s: "x".join(map(str, s)),
)
def test_pairwise_rows_cover_every_pair_with_few_rows(sizes: tuple[int, ...]) -> None:
    forms = {f"b{i}": [f"f{j}" for j in range(n)] for i, n in enumerate(sizes)}
    rows = pairwise_rows(forms)
    assert all(set(r) == set(forms) and all(r[k] in forms[k] for k in r) for r in rows)
    assert _uncovered_pairs(forms, rows) == []
    largest = sorted(sizes)[-2:]
    full = 1
    for n in sizes:
        full *= n
    assert max(largest) <= len(rows) <= min(full, 2 * largest[0] * largest[-1])
    assert pairwise_rows(forms) == rows  # deterministic: test ids stay stable across runs and workers


def test_the_covering_check_itself_catches_a_missing_pair() -> None:
    forms = {"a": ["1", "2"], "b": ["1", "2"]}
    assert _uncovered_pairs(forms, pairwise_rows(forms)[:-1]) != []


def test_the_declared_beliefs_make_a_covering_matrix() -> None:
    forms = {k: list(b.forms) for k, b in all_beliefs().items()}
    rows = pairwise_rows(forms)
    assert _uncovered_pairs(forms, rows) == []
    assert all(parse_variant(v) for r in rows for v in variant_args(r))
