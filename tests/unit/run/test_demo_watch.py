"""`drill demo --watch`: the demo playbook declares the mail watch, the Sentinel watch or both (issue 24);
a Sentinel fault on a demo that does not watch Sentinel is refused, since it would break nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import run_cli


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--watch", "nope"], "unknown watch 'nope'; choose one of mail, sentinel, both"),
        (["--fault", "sentinel-rule-disabled"], "add --watch sentinel (or --watch both)"),
        (["--audit", "--watch", "sentinel"], "drop --watch"),
    ],
)
def test_demo_refuses_a_watch_it_cannot_run(tmp_path: Path, args: list[str], fragment: str) -> None:
    code, out, err = run_cli("demo", "--output", str(tmp_path / "reports"), *args)
    assert code == 2, (out, err)
    assert fragment in err
    assert "Traceback" not in err
    assert not (tmp_path / "reports").exists()  # refused before any drill
