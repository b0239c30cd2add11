"""House rule: the product never imports the simulator; only drill/demo.py (and drill/testing.py) may."""

from __future__ import annotations

import ast
from pathlib import Path

DRILL = Path(__file__).resolve().parents[2] / "drill"
ALLOWED = {DRILL / "demo.py", DRILL / "testing.py"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_product_modules_do_not_import_the_simulator() -> None:
    offenders = []
    for path in DRILL.rglob("*.py"):
        if (DRILL / "sim") in path.parents or path in ALLOWED:
            continue
        if any(name == "drill.sim" or name.startswith("drill.sim.") for name in _imports(path)):
            offenders.append(str(path.relative_to(DRILL.parent)))
    assert offenders == []


def test_the_simulator_imports_nothing_of_the_product_but_shared_leaves() -> None:
    """The simulator verifies with its own code (fido2.server, its own CA evaluation), not the product's."""
    allowed = {"drill.sim", "drill.errors"}
    offenders = []
    for path in (DRILL / "sim").rglob("*.py"):
        for name in _imports(path):
            if name.startswith("drill.") and not any(name == a or name.startswith(a + ".") for a in allowed):
                offenders.append(f"{path.relative_to(DRILL.parent)}: {name}")
    assert offenders == []
