"""`drill init DIR`: the commented example playbook and its query file, written where the operator wants
them, so an installed `drill` (pip, pipx, the container) starts a tenant's playbook without a checkout.

The files are the package's own (drill/assets/example), copied byte for byte: the example `drill playbook
check` accepts, with a warning at each placeholder still to replace. Nothing existing is overwritten
unless asked: a playbook someone already edited is worth more than a fresh template.
"""

from __future__ import annotations

from pathlib import Path

from drill.assets import EXAMPLE_FOLDER
from drill.errors import DrillUserError


def example_files() -> list[Path]:
    """The example's files, relative to its folder (the playbook first, then its queries)."""
    found = [p.relative_to(EXAMPLE_FOLDER) for p in EXAMPLE_FOLDER.rglob("*") if p.is_file()]
    return sorted((p for p in found if "__pycache__" not in p.parts), key=lambda p: (len(p.parts), p))


def write_example(folder: Path, *, force: bool = False) -> list[Path]:
    """Copy the example into `folder` (made if missing); the paths written. Refuses, naming them, when any
    of them exists and `force` is not set, before writing anything."""
    if folder.exists() and not folder.is_dir():
        raise DrillUserError(f"{folder} is a file, not a folder; name a folder for the playbook")
    files = example_files()
    targets = [folder / rel for rel in files]
    taken = [t for t in targets if t.exists() or t.is_symlink()]
    if taken and not force:
        names = ", ".join(str(t) for t in taken)
        raise DrillUserError(f"{names}: already there; pass --force to overwrite, or name another folder")
    for rel, target in zip(files, targets, strict=True):
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise DrillUserError(f"{target} is not a plain file; remove it or name another folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb" if force else "xb") as out:
            out.write((EXAMPLE_FOLDER / rel).read_bytes())
    return targets
