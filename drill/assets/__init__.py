"""The files the package ships beside its code: the demo's playbook, queries and simulated tenant, and the
commented example `drill init` writes.

They are package data, found through importlib.resources and nowhere else, so a wheel installed with pip
or pipx (or into the container) finds the same files a checkout does. The folders keep the layout a
playbook expects: a playbook's query files sit in `queries/` beside it, and the demo tenant's rules name
`../queries/...` from `sim/`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _folder(name: str) -> Path:
    """A data folder of this package on disk. The loaders resolve relative paths inside a playbook against
    its folder, so the data must be real files: an install that left the package zipped cannot run it."""
    found = files(__name__) / name
    if not isinstance(found, Path) or not found.is_dir():
        raise RuntimeError(
            f"the package data folder {name!r} of {__name__} is not on disk ({found}); "
            "reinstall breakglass-drill with pip or pipx (a zipped install cannot run the demo)"
        )
    return found


DEMO_FOLDER = _folder("demo")
DEMO_PLAYBOOK = DEMO_FOLDER / "demo.yaml"
DEMO_TENANT = DEMO_FOLDER / "sim" / "demo-tenant.yaml"
DEMO_QUERIES = DEMO_FOLDER / "queries"
EXAMPLE_FOLDER = _folder("example")
EXAMPLE_PLAYBOOK = EXAMPLE_FOLDER / "playbook.yaml"
EXAMPLE_QUERIES = EXAMPLE_FOLDER / "queries"
