"""How much the drill itself costs on top of the delays it waits for.

Runs the demo drill against the embedded simulator with a simulated ingestion delay D1 (SigninLogs row
visible D1 s after the sign-in) and alert delay D2 (the alert rule evaluates D2 s after the row is
visible, and mails at once), and prints: total wall time, overhead (wall - D1 - D2), the runner's
detection lag for each wait (simulator says visible -> runner saw it), and how many Log Analytics and
Graph requests the drill made. Targets: detection lag <= 10% of the delay waited for; overhead <= 3 s
beyond browser start on a 2-core machine.

    python bench/drill_overhead.py                  # D1/D2 = 5/10 s, then 30/60 s
    python bench/drill_overhead.py --pairs 5:10     # one pair
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe


def run_pair(d1: float, d2: float) -> dict[str, Any]:
    from drill.evidence.bundle import BundleWriter
    from drill.evidence.signing import Signer
    from drill.run.demo import build_context, demo_world
    from drill.run.loop import execute

    with tempfile.TemporaryDirectory() as tmp, demo_world(Path(tmp) / "state") as world:
        state = world.sim.state
        state.tenant.workspace["ingestionDelaySeconds"] = {"fixed": d1}
        engine = state.services["alerts"]
        rule = next(r for r in state.tenant.alertRules if r["evaluationFrequency"] == "PT1M")
        for other in state.tenant.alertRules:
            if other is not rule:
                other["enabled"] = False
        engine.rules[rule["name"]].next_run = state.clock.now() + timedelta(days=1)  # until our sign-in

        def schedule(event: Any) -> None:
            if event.result_type == "0":
                engine.rules[rule["name"]].next_run = event.created + timedelta(seconds=d1 + d2)

        state.signin_listeners.append(schedule)
        ctx = build_context(world, "ea01", quiet=True)
        writer = BundleWriter(Path(tmp) / "reports", Signer.load(state_dir=Path(tmp) / "signing"), pdf=None)
        graph_before = state.services.get("graph", {}).get("requests", 0)
        logs_before = state.services["loganalytics"].queries
        start = time.monotonic()
        code = execute(ctx, writer)
        wall = time.monotonic() - start
        record = writer.finished
        assert record is not None
        t = ctx.timings
        signin = next(s for s in ctx_steps(writer) if s["step"] == "signin")
        visible_mail = t.alert_received_at
        return {
            "d1": d1,
            "d2": d2,
            "verdict": record.verdict.value,
            "exit": code,
            "wall": wall,
            "overhead": wall - d1 - d2,
            "signin": signin["duration_s"],
            "row_lag": (t.row_seen_at - t.row_ingested_at).total_seconds()
            if t.row_seen_at and t.row_ingested_at
            else None,
            "mail_lag": (t.alert_seen_at - visible_mail).total_seconds()
            if t.alert_seen_at and visible_mail
            else None,
            "logs_queries": state.services["loganalytics"].queries - logs_before,
            "graph_requests": state.services.get("graph", {}).get("requests", 0) - graph_before,
            "drill_logs_queries": ctx.counters["logs_queries"],
            "drill_graph_requests": ctx.counters["graph_requests"],
        }


def _seconds(earlier: Any, later: Any) -> float | None:
    return (later - earlier).total_seconds() if earlier and later else None


def ctx_steps(writer: Any) -> list[dict[str, Any]]:
    import json

    return list(json.loads((writer.finished.path / "report.json").read_text())["steps"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="5:10,30:60", help="D1:D2 pairs in seconds, comma-separated")
    args = parser.parse_args()
    from drill.logs import configure_logging

    configure_logging(None, console=False)  # the figures, not the drill's log lines
    print(f"machine: {describe()}")
    for pair in args.pairs.split(","):
        d1, d2 = (float(x) for x in pair.split(":"))
        r = run_pair(d1, d2)
        row_pct = 100 * r["row_lag"] / d1 if r["row_lag"] is not None and d1 else float("nan")
        mail_pct = 100 * r["mail_lag"] / (d1 + d2) if r["mail_lag"] is not None else float("nan")
        print(
            f"D1={d1:g}s D2={d2:g}s verdict={r['verdict']} wall={r['wall']:.1f}s "
            f"overhead={r['overhead']:.1f}s "
            f"(sign-in step {r['signin']:.1f}s incl. browser start)\n"
            f"  detection lag: row {r['row_lag']:.2f}s ({row_pct:.1f}% of D1), "
            f"mail {r['mail_lag']:.2f}s ({mail_pct:.1f}% of D1+D2)\n"
            f"  requests seen by the simulator: Log Analytics {r['logs_queries']}, "
            f"Graph {r['graph_requests']} "
            f"(drill counted {r['drill_logs_queries']} and {r['drill_graph_requests']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
