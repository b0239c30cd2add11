"""Fixtures for the evidence tests: a signer, a writer, and one real Chromium-rendered PDF per session.

Most bundle tests reuse that one PDF's bytes (rendering costs a Chromium start); test_pdf.py renders each
bundle's own HTML for real.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from drill.evidence.bundle import BundleWriter, FinishedBundle
from drill.evidence.model import DrillRecord, Verdict
from drill.evidence.signing import Signer


@pytest.fixture(scope="session")
def session_pdf() -> bytes:
    from records_support import healthy

    from drill.evidence.html import render_report
    from drill.evidence.pdf import render_pdf

    return render_pdf(render_report(healthy()))


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer.load(state_dir=tmp_path / "state")


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    return tmp_path / "reports"


WriteBundle = Callable[..., FinishedBundle]


@pytest.fixture
def write_bundle(reports: Path, signer: Signer, session_pdf: bytes, tmp_path: Path) -> WriteBundle:
    """Drive BundleWriter the way the orchestrator does: begin, a step at a time, screenshots, finish."""

    def write(record: DrillRecord, log_lines: list[dict[str, object]] | None = None) -> FinishedBundle:
        writer = BundleWriter(reports, signer, pdf=lambda html: session_pdf)
        start = record.model_copy(update={"steps": [], "verdict": Verdict.INCOMPLETE, "reason": "running"})
        writer.begin(start)
        steps = []
        for step in record.steps:
            shot = writer.add_screenshot(f"{step.step} page", _png(step.step))
            steps.append(step.model_copy(update={"screenshots": [shot]}))
            writer.step(steps[-1])
        log = tmp_path / f"{record.drill_id}.log.jsonl"
        log.write_text("".join(json.dumps(line) + "\n" for line in (log_lines or [])), encoding="utf-8")
        return writer.finalize(record.model_copy(update={"steps": steps}), log)

    return write


def _png(label: str) -> bytes:
    """A real, tiny PNG (1x1, colour from the label) so HTML embedding sees a valid image."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    colour = bytes(ord(c) % 256 for c in (label * 3)[:3])
    raw = zlib.compress(b"\x00" + colour)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", raw)
        + chunk(b"IEND", b"")
    )


def folder_playbook(tmp_path: Path, share: Path, signer: Signer) -> Path:
    """The demo playbook filing to one folder only, signing with `signer`'s key file: what `drill file` reads.

    Written beside a copy of the demo's queries, which the playbook names relative to its own folder.
    """
    import shutil

    from drill.run.demo import DEMO_PLAYBOOK

    folder = tmp_path / "playbook"
    shutil.copytree(DEMO_PLAYBOOK.parent / "queries", folder / "queries")
    text = DEMO_PLAYBOOK.read_text(encoding="utf-8")
    start, end = text.index("  filing:\n"), text.index("browser:\n")
    filing = (
        f"  signing_key: {json.dumps(signer.source)}\n"
        f"  filing:\n    - kind: folder\n      path: {json.dumps(str(share))}\n"
    )
    path = folder / "playbook.yaml"
    path.write_text(text[:start] + filing + text[end:], encoding="utf-8")
    return path
