"""The parse cache in drill/playbook/yamlpos.py: the same text parses once per process, and nothing a caller
does to one Document, and no path, leaks into the next read."""

from __future__ import annotations

from pathlib import Path

import pytest

from drill.errors import DrillUserError
from drill.playbook import yamlpos

TEXT = "tenant:\n  id: abc\naccounts:\n  - name: ea01\n"


def test_a_cached_text_gives_its_own_path_and_an_untouched_copy(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(TEXT)
    second.write_text(TEXT)
    one = yamlpos.load_yaml(first)
    one.data["accounts"][0]["name"] = "changed"
    one.positions.values[("tenant",)] = (99, 99)
    two = yamlpos.load_yaml(second)
    assert TEXT in yamlpos._PARSED
    assert two.path == second
    assert two.data["accounts"][0]["name"] == "ea01"
    assert two.where(("tenant", "id")) == f"{second}:2:7"
    assert two.where(("tenant",)) == f"{second}:2:3"


def test_a_failing_text_is_not_kept_and_fails_at_each_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: &x 1\nb: *x\n")
    for _ in range(2):
        with pytest.raises(DrillUserError, match=r"bad\.yaml"):
            yamlpos.load_yaml(bad)
    assert bad.read_text() not in yamlpos._PARSED
