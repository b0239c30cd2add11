"""Issue 17 item 10: the software key's state file holds its secrets; saving it never follows a planted link.

The old save wrote `<key>.json.tmp` through whatever was at that name, then chmod-ed the link's target.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from drill.keys.software import SoftwareKey
from drill.keys.software_state import KeyState

pytestmark = pytest.mark.skipif(os.name != "posix", reason="symbolic links and modes need POSIX here")

PRECIOUS = b"the operator's own file\n"


def test_saving_a_key_does_not_follow_a_link_at_the_temp_name(
    make_key: Callable[..., SoftwareKey], tmp_path: Path
) -> None:
    key = make_key()
    path = key.path
    victim = tmp_path / "elsewhere" / "precious.txt"
    victim.parent.mkdir()
    victim.write_bytes(PRECIOUS)
    victim.chmod(0o644)
    link = path.with_name(path.name + ".tmp")
    link.symlink_to(victim)

    state = KeyState.load(path)
    state.counter += 7
    old = os.umask(0)  # the mode must be explicit, not the umask's
    try:
        state.save(path)
    finally:
        os.umask(old)

    assert victim.read_bytes() == PRECIOUS
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert not path.is_symlink()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KeyState.load(path).counter == state.counter
    assert link.is_symlink()
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp") and p != link] == []
