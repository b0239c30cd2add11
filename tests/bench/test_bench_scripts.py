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


def test_drill_overhead_runs_a_passing_drill_and_prints_its_lags_and_machine() -> None:
    """The README's `make bench` must stay true: a short pair, a PASS, the figures and the machine."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "drill_overhead.py"), "--pairs", "10:10"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    for needle in (
        "machine:",
        "cores",
        "verdict=PASS",
        "detection lag: row",
        "Log Analytics",
        "worst detection lag",
    ):
        assert needle in out.stdout


def test_audit_scale_audits_a_grown_tenant_clean_and_prints_its_costs_and_machine() -> None:
    """A small grown tenant (paged CA policies included): PASS, wall time, requests, Graph cost, machine."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "audit_scale.py"),
         "--users", "3000", "--groups", "200", "--policies", "150"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    for needle in ("machine:", "cores", "audit wall time:", "requests: arm", "graph cost:", "verdict: PASS"):
        assert needle in out.stdout
    assert "conditional access: 0 request(s) refused" in out.stdout
