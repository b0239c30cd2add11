"""The benchmarks run and print their figures and the machine (tiny sizes: figures are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_kql_scale_prints_latencies_ratio_and_machine() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "kql_scale.py"), "--rows", "5000", "--repeat", "1"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    for needle in ("machine:", "cores", "KQL alert query", "hand-written DuckDB SQL", "ratio KQL / SQL"):
        assert needle in out.stdout
