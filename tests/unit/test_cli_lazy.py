"""`drill --help` and `drill --version` stay fast: no heavy library is imported to print them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("msgraph", "msgraph_core", "msgraph_sdk", "playwright", "duckdb", "duckdb_kql", "azure", "fido2.hid")

SCRIPT = """
import json, sys
sys.argv = ["drill", *json.loads(sys.argv[1])]
from drill.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = json.loads(sys.argv[0] if False else {heavy!r})
loaded = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
print("\\nLOADED=" + json.dumps({{"code": code, "loaded": loaded}}))
"""


def _run(*args: str) -> dict[str, object]:
    script = SCRIPT.format(heavy=json.dumps(HEAVY))
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(list(args))], capture_output=True, text=True, check=False
    )
    marker = [line for line in proc.stdout.splitlines() if line.startswith("LOADED=")]
    assert marker, proc.stderr
    result: dict[str, object] = json.loads(marker[-1][len("LOADED=") :])
    result["stdout"] = proc.stdout
    return result


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("playbook", "--help")])
def test_help_and_version_import_no_heavy_library(args: tuple[str, ...]) -> None:
    result = _run(*args)
    assert result["code"] == 0
    assert result["loaded"] == []


def test_the_check_detects_a_heavy_import() -> None:
    # Guard against a vacuous pass: the same probe sees a heavy module when one is imported.
    script = (
        "import sys, json; import azure.core; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('azure'))))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "azure.core" in json.loads(out)


def test_version_prints_the_package_version() -> None:
    from drill import __version__

    assert f"breakglass-drill {__version__}" in str(_run("--version")["stdout"])
