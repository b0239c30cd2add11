"""The demo's and the example's files are package data: found through importlib.resources, carried by the
wheel, and never looked up in the checkout (an installed `drill demo` has no checkout)."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from pathlib import Path

import drill.assets as assets

DRILL = Path(__file__).resolve().parents[2] / "drill"
PYPROJECT = DRILL.parent / "pyproject.toml"


def test_every_asset_is_a_file_of_the_package() -> None:
    for path in (assets.DEMO_PLAYBOOK, assets.DEMO_TENANT, assets.EXAMPLE_PLAYBOOK):
        assert path.is_file(), path
        assert path.is_relative_to(DRILL / "assets")
    assert sorted(p.name for p in assets.DEMO_QUERIES.glob("*.kql")) == [
        "demo-breakglass-alert.kql",
        "demo-breakglass-sentinel.kql",  # the demo's Sentinel analytics rule (issue 24)
        "demo-breakglass-signin.kql",
    ]
    assert [p.name for p in assets.EXAMPLE_QUERIES.glob("*.kql")] == ["breakglass-alert.kql"]


def test_the_wheel_carries_every_asset_file() -> None:
    """setuptools puts only the files its package-data patterns match into the wheel."""
    patterns = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    mine = patterns["drill.assets"]
    root = DRILL / "assets"
    data = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix != ".py"]
    data = [d for d in data if "__pycache__" not in d]
    assert data
    missing = [d for d in data if not any(fnmatch.fnmatchcase(d, pattern) for pattern in mine)]
    assert missing == [], f"add patterns for {missing} under [tool.setuptools.package-data] drill.assets"


# Developer tools that write the checkout's own files, never run by an installed `drill`.
CHECKOUT_TOOLS = {"permissions/doc.py"}  # regenerates docs/PERMISSIONS.md


def _climbs_from_file(node: ast.AST) -> bool:
    """`Path(__file__)....parents[N]` or `.parent` chains: a path relative to where the source sits."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)):
        return False
    if node.value.attr != "parents":
        return False
    return any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(node.value))


def test_no_product_module_reaches_into_the_checkout() -> None:
    """A path climbed from `__file__` to the repository (its playbooks/) works in a checkout only."""
    offenders = [
        f"{path.relative_to(DRILL)}:{node.lineno}"
        for path in DRILL.rglob("*.py")
        if path.relative_to(DRILL).as_posix() not in CHECKOUT_TOOLS
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _climbs_from_file(node)
    ]
    assert offenders == [], "find package data with drill.assets (importlib.resources)"


def test_the_checkout_rule_can_fail() -> None:
    planted = ast.parse('ROOT = Path(__file__).resolve().parents[2] / "playbooks"')
    assert any(_climbs_from_file(node) for node in ast.walk(planted))
