"""Fidelity packs: the shapes of what a real tenant answered, safe to attach to a bug report."""

from drill.fidelity.recorder import (
    PACK_FILE,
    load_pack,
    note_arm,
    note_mail,
    note_page,
    note_rows,
    note_served,
    recording,
)

__all__ = [
    "PACK_FILE",
    "load_pack",
    "note_arm",
    "note_mail",
    "note_page",
    "note_rows",
    "note_served",
    "recording",
]
