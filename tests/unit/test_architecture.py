"""House rules for the import graph, checked on the real tree and proven able to fail on planted trees.

- Layers import downward only (same layer is fine): cli → commands → run / setup → schedule → steps →
  evidence → browser → keys → auth / clients / clouds → playbook → logs / progress / fidelity → secrets /
  errors / isotime / fsutil / text.
- No import cycles between modules, counting imports inside functions and under `TYPE_CHECKING`.
- The product never imports the simulator, except the demo wiring (`drill.run.demo`) and `drill.testing`.
- The simulator imports nothing of the product but `drill.errors` and `drill.assets` (its fixture's place).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

DRILL = Path(__file__).resolve().parents[2] / "drill"

# Highest first. A module belongs to the first layer whose prefix names it (or a package above it).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("drill.cli", "drill.__main__", "drill.testing"),
    ("drill.commands",),
    ("drill.run", "drill.setup"),
    ("drill.schedule",),
    ("drill.audit",),
    ("drill.steps",),
    ("drill.evidence",),
    ("drill.browser",),
    ("drill.keys",),
    ("drill.auth", "drill.clients", "drill.clouds", "drill.monitoring", "drill.permissions"),
    ("drill.playbook",),
    ("drill.logs", "drill.progress", "drill.fidelity"),
    ("drill.secrets", "drill.errors", "drill.isotime", "drill.fsutil", "drill.text", "drill.assets"),
    ("drill",),  # the package itself: its version, nothing else
)
SIM = "drill.sim"
MAY_IMPORT_SIM = {"drill.run.demo", "drill.testing"}
SIM_MAY_IMPORT = {"drill.errors", "drill.assets"}  # the demo tenant fixture is package data


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Each module under `root` and the modules of that tree it imports, wherever the import stands."""
    paths = {_module_name(root, p): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import sub` imports the submodule `pkg.sub` when there is one.
                subs = {f"{node.module}.{alias.name}" for alias in node.names}
                found = subs & paths.keys()
                targets.update(found)
                if found != subs or not found:
                    targets.add(node.module)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def layer_of(module: str) -> int:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS (and to the layout docs)")


def _is_sim(module: str) -> bool:
    return module == SIM or module.startswith(SIM + ".")


def violations(root: Path) -> list[str]:
    """Every broken rule in the tree under `root`, as readable lines."""
    graph = import_graph(root)
    out: list[str] = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if _is_sim(module):
                if not _is_sim(target) and target not in SIM_MAY_IMPORT:
                    out.append(f"simulator imports the product: {module} -> {target}")
                continue
            if _is_sim(target):
                if module not in MAY_IMPORT_SIM:
                    out.append(f"product imports the simulator: {module} -> {target}")
                continue
            if layer_of(target) < layer_of(module):
                out.append(f"upward import: {module} -> {target}")
    out.extend(f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph))
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append([*sorted(component), sorted(component)[0]])

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_tree_keeps_every_rule() -> None:
    assert violations(DRILL) == []


def test_every_module_is_in_a_layer() -> None:
    for module in import_graph(DRILL):
        if not _is_sim(module):
            layer_of(module)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(DRILL, tmp_path / "drill", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return tmp_path / "drill"


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_a_planted_upward_import_is_caught(tree: Path) -> None:
    _append(
        tree / "evidence" / "ledger.py", "\n\ndef _planted() -> None:\n    from drill.steps import base\n"
    )
    assert "upward import: drill.evidence.ledger -> drill.steps.base" in violations(tree)


def test_a_planted_cycle_under_type_checking_is_caught(tree: Path) -> None:
    _append(
        tree / "keys" / "base.py", "\n\nif TYPE_CHECKING:\n    from drill.keys.software import SoftwareKey\n"
    )
    found = [v for v in violations(tree) if v.startswith("import cycle:")]
    assert found
    assert any("drill.keys.base" in v and "drill.keys.software" in v for v in found)


def test_a_planted_product_import_of_the_simulator_is_caught(tree: Path) -> None:
    _append(tree / "steps" / "alert.py", "\n\nfrom drill.sim import clock\n")
    assert "product imports the simulator: drill.steps.alert -> drill.sim.clock" in violations(tree)


def test_a_planted_simulator_import_of_the_product_is_caught(tree: Path) -> None:
    _append(tree / "sim" / "clock.py", "\n\nfrom drill.secrets import redact\n")
    assert "simulator imports the product: drill.sim.clock -> drill.secrets" in violations(tree)


def test_a_planted_cycle_inside_the_simulator_is_caught(tree: Path) -> None:
    _append(
        tree / "sim" / "graph" / "directory.py",
        "\n\ndef _planted() -> None:\n    from drill.sim.graph import roles\n",
    )
    assert any("drill.sim.graph.directory" in v for v in violations(tree) if v.startswith("import cycle:"))
